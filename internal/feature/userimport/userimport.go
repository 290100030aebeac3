// Package userimport brings users and their follows from another system
// into userd: JSON lines or CSV with every field of a user, their legacy id
// and their roles (see Fields). Hashes stay as they are (bcrypt, argon2,
// Django's prefixed forms) and are replaced by argon2id at each user's next
// log-in. A re-run skips the users it already brought in.
package userimport

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Options are the choices of an import.
type Options struct {
	// DryRun checks the whole file and writes nothing.
	DryRun bool
	// IgnoreUnknown imports a file with fields userd does not know,
	// ignoring them; without it such a file imports nothing.
	IgnoreUnknown bool
	// Progress, when set, wraps the reader of each pass over the file:
	// "checking" and then "importing".
	Progress func(pass string, r io.Reader) io.Reader
}

// ErrUnknownFields is the error of a file with fields userd does not know,
// imported without Options.IgnoreUnknown; Summary.Unknown names them.
var ErrUnknownFields = userd.Errorf(userd.KindInvalid, "unknown_fields", "The file has fields that userd does not know; nothing was imported.")

// Summary tells what an import did: how many records it read and imported,
// how many it skipped for each reason, with a few examples, and the
// unknown fields it saw with how many records had each.
type Summary struct {
	Read     int
	Imported int
	Skipped  map[string]int
	Examples []string // "line 12: invalid_email (email)", the first few
	Unknown  map[string]int
}

// maxExamples is how many skipped lines a Summary names.
const maxExamples = 100

// batchSize is how many users an import writes a transaction.
const batchSize = 2000

func (s *Summary) skip(line int, reason string) {
	s.Skipped[reason]++
	if len(s.Examples) < maxExamples {
		s.Examples = append(s.Examples, fmt.Sprintf("line %d: %s", line, reason))
	}
}

// Reasons lists the skip reasons of a summary, most frequent first.
func (s *Summary) Reasons() []string {
	return byCount(s.Skipped)
}

// UnknownFields lists the unknown fields of a summary, most frequent first.
func (s *Summary) UnknownFields() []string {
	return byCount(s.Unknown)
}

func byCount(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := m[b] - m[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}

// Import reads the users of f in two passes. The first checks every
// record: its fields, its password hash's format, its roles, and that no
// earlier record has its legacy id, email, username, phone number or
// auth_user_id; it returns ErrUnknownFields, before writing anything, when
// the file has unknown fields and o.IgnoreUnknown is false. Unless
// o.DryRun, the second creates the users of the records that passed, in
// batches of batchSize, each in one transaction with their roles (END_USER
// and the record's) and one audit entry; a user who collides with a stored
// one on a unique field is skipped, as already imported. A record that
// fails is skipped with its reason.
func Import(ctx context.Context, db *sqldb.DB, f io.ReadSeeker, o Options) (Summary, error) {
	sum := Summary{Skipped: map[string]int{}, Unknown: map[string]int{}}
	var roles []string
	if err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		roles, err = rbac.Names(ctx, tx)
		return err
	}); err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	bad, err := checkFile(f, o, roles, &sum)
	if err != nil || o.DryRun {
		return sum, err
	}
	if len(sum.Unknown) > 0 && !o.IgnoreUnknown {
		return sum, ErrUnknownFields
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return sum, fmt.Errorf("import: rewind: %w", err)
	}
	return sum, importFile(ctx, db, wrap(o, "importing", f), bad, &sum)
}

func wrap(o Options, pass string, r io.Reader) io.Reader {
	if o.Progress == nil {
		return r
	}
	return o.Progress(pass, r)
}

// checkFile reads every record of f, counts the unknown fields and the
// records that fail, and returns the lines of those.
func checkFile(f io.Reader, o Options, roles []string, sum *Summary) (map[int]bool, error) {
	next, err := reader(wrap(o, "checking", f))
	if err != nil {
		return nil, err
	}
	bad := map[int]bool{}
	seed := maphash.MakeSeed()
	seen := map[uint64]int32{} // a hash of each unique value, to its line
	chunk := make([]read, 0, batchSize)
	reasons := make([]string, batchSize)
	flush := func() {
		each(chunk, func(i int) {
			reasons[i] = chunk[i].reason
			if reasons[i] == "" {
				reasons[i] = check(&chunk[i].Record, roles)
			}
		})
		for i, rec := range chunk {
			if reasons[i] == "" {
				reasons[i] = duplicate(rec.User, seed, seen, rec.Line)
			}
			if reasons[i] != "" {
				bad[rec.Line] = true
				sum.skip(rec.Line, reasons[i])
			}
		}
		chunk = chunk[:0]
	}
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			flush()
			return bad, nil
		}
		if err != nil && !errors.Is(err, errMalformed) {
			return nil, err
		}
		sum.Read++
		for _, name := range rec.Unknown {
			sum.Unknown[name]++
		}
		r := read{Record: rec}
		if err != nil {
			r.reason = err.Error()
		}
		if chunk = append(chunk, r); len(chunk) == batchSize {
			flush()
		}
	}
}

// read is a record with why it could not be read, if it could not.
type read struct {
	Record
	reason string
}

// duplicate returns why a user has a unique value of an earlier record's,
// or "", and remembers theirs.
func duplicate(u account.Imported, seed maphash.Seed, seen map[uint64]int32, line int) string {
	for _, k := range u.Keys() {
		h := maphash.String(seed, k)
		if first, ok := seen[h]; ok {
			return fmt.Sprintf("duplicate %s (of line %d)", k[:strings.IndexByte(k, ':')], first)
		}
		seen[h] = int32(line)
	}
	return ""
}

// each runs fn for every index of s, spread over the machine's cores.
func each[T any](s []T, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(s); i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// prepare normalises a record's user and returns why it fails, or "".
func prepare(r *Record) string {
	if fe := r.User.Check(); len(fe) > 0 {
		return fe[0].Code + " (" + fe[0].Field + ")"
	}
	r.User.PasswordHash = strings.TrimSpace(r.User.PasswordHash)
	if r.User.PasswordHash != "" && !password.Recognize(r.User.PasswordHash) {
		return "unsupported_password_hash"
	}
	return ""
}

// check prepares a record and returns why it fails, or "": its user's
// fields, or a role not among roles.
func check(r *Record, roles []string) string {
	if reason := prepare(r); reason != "" {
		return reason
	}
	for _, role := range r.Roles {
		if !slices.Contains(roles, role) {
			return "unknown_role (" + role + ")"
		}
	}
	return ""
}
