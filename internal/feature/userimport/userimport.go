// Package userimport brings users from another system into userd: JSON
// lines or CSV with the fields email, username, phone_number, first_name,
// last_name and password_hash. Hashes stay as they are (bcrypt, argon2,
// Django's prefixed forms) and are replaced by argon2id at each user's next
// log-in. A re-run skips the users it already brought in.
package userimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Record is one user to import. Line is where it starts in the file.
type Record struct {
	Email        string `json:"email"`
	Username     string `json:"username"`
	PhoneNumber  string `json:"phone_number"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	PasswordHash string `json:"password_hash"`
	Line         int    `json:"-"`
}

// Summary tells what an import did: how many records it read and imported,
// and how many it skipped for each reason, with a few examples.
type Summary struct {
	Read     int
	Imported int
	Skipped  map[string]int
	Examples []string // "line 12: invalid_email", the first few
}

const (
	batchSize   = 500
	maxExamples = 20
)

func (s *Summary) skip(r Record, reason string) {
	s.Skipped[reason]++
	if len(s.Examples) < maxExamples {
		s.Examples = append(s.Examples, fmt.Sprintf("line %d: %s", r.Line, reason))
	}
}

// Reasons lists the skip reasons of a summary, most frequent first.
func (s *Summary) Reasons() []string {
	var out []string
	for r := range s.Skipped {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := s.Skipped[b] - s.Skipped[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}

// Import reads records from r (JSON lines when the first character is '{',
// CSV with a header otherwise) and creates the users it can, in batches.
// done is called with the count of records read after each batch.
func Import(ctx context.Context, db *sqldb.DB, r io.Reader, done func(read int)) (Summary, error) {
	sum := Summary{Skipped: map[string]int{}}
	next, err := reader(r)
	if err != nil {
		return sum, err
	}
	var batch []Record
	flush := func() error {
		if err := importBatch(ctx, db, batch, &sum); err != nil {
			return err
		}
		batch = batch[:0]
		if done != nil {
			done(sum.Read)
		}
		return nil
	}
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		sum.Read++
		if err != nil {
			sum.skip(rec, "malformed_record")
			continue
		}
		batch = append(batch, rec)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

// reader returns a function that yields records until io.EOF.
func reader(r io.Reader) (func() (Record, error), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return func() (Record, error) { return Record{}, io.EOF }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	if first[0] == '{' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		line := 0
		return func() (Record, error) {
			for sc.Scan() {
				line++
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				dec := json.NewDecoder(strings.NewReader(sc.Text()))
				dec.DisallowUnknownFields()
				rec := Record{}
				err := dec.Decode(&rec)
				rec.Line = line
				return rec, err
			}
			if err := sc.Err(); err != nil {
				return Record{Line: line + 1}, err
			}
			return Record{}, io.EOF
		}, nil
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	known := map[string]bool{"email": true, "username": true, "phone_number": true, "first_name": true, "last_name": true, "password_hash": true}
	for _, h := range header {
		if !known[strings.TrimSpace(h)] {
			return nil, fmt.Errorf("CSV header: unknown column %q (known: email, username, phone_number, first_name, last_name, password_hash)", h)
		}
	}
	return func() (Record, error) {
		row, err := cr.Read()
		line, _ := cr.FieldPos(0)
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		rec := Record{Line: line}
		if err != nil || len(row) != len(header) {
			return rec, fmt.Errorf("line %d: malformed CSV row", line)
		}
		for i, h := range header {
			switch v := row[i]; strings.TrimSpace(h) {
			case "email":
				rec.Email = v
			case "username":
				rec.Username = v
			case "phone_number":
				rec.PhoneNumber = v
			case "first_name":
				rec.FirstName = v
			case "last_name":
				rec.LastName = v
			case "password_hash":
				rec.PasswordHash = v
			}
		}
		return rec, nil
	}, nil
}

// check validates a record and returns the account to create, or the
// reason to skip it.
func check(r Record) (account.New, string) {
	n := account.New{
		Identity:     account.Identity{Email: r.Email, Username: r.Username, PhoneNumber: r.PhoneNumber},
		Profile:      account.Profile{FirstName: r.FirstName, LastName: r.LastName},
		PasswordHash: strings.TrimSpace(r.PasswordHash),
	}
	if fe := append(n.Identity.Check(), n.Profile.Check()...); len(fe) > 0 {
		return n, fe[0].Code + " (" + fe[0].Field + ")"
	}
	if n.PasswordHash != "" && !password.Recognize(n.PasswordHash) {
		return n, "unsupported_password_hash"
	}
	return n, ""
}

// importBatch imports a batch in one transaction; when another writer makes
// it collide, it imports the batch again one record at a time.
func importBatch(ctx context.Context, db *sqldb.DB, batch []Record, sum *Summary) error {
	news := make([]account.New, len(batch))
	valid := make([]bool, len(batch))
	for i, r := range batch {
		n, reason := check(r)
		if reason != "" {
			sum.skip(r, reason)
			continue
		}
		news[i], valid[i] = n, true
	}
	var imported int
	var skipped []int
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		imported, skipped = 0, skipped[:0]
		for i := range batch {
			if !valid[i] {
				continue
			}
			ok, err := insert(ctx, tx, news[i])
			if err != nil {
				return err
			}
			if ok {
				imported++
			} else {
				skipped = append(skipped, i)
			}
		}
		return nil
	})
	if err == nil {
		sum.Imported += imported
		for _, i := range skipped {
			sum.skip(batch[i], "already_exists")
		}
		return nil
	}
	if userd.ErrorKind(err) != userd.KindConflict {
		return fmt.Errorf("import batch: %w", err)
	}
	for i := range batch {
		if !valid[i] {
			continue
		}
		var ok bool
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
			ok, err = insert(ctx, tx, news[i])
			return err
		})
		switch {
		case userd.ErrorKind(err) == userd.KindConflict || (err == nil && !ok):
			sum.skip(batch[i], "already_exists")
		case err != nil:
			return fmt.Errorf("import line %d: %w", batch[i].Line, err)
		default:
			sum.Imported++
		}
	}
	return nil
}

// insert creates the user unless one with the same email, username or
// phone number exists, and reports whether it did.
func insert(ctx context.Context, tx *sqldb.Tx, n account.New) (bool, error) {
	exists, err := account.Exists(ctx, tx, n.Identity)
	if err != nil || exists {
		return false, err
	}
	u, err := account.Insert(ctx, tx, n)
	if err != nil {
		return false, err
	}
	if err := rbac.AssignDefault(ctx, tx, u.ID); err != nil {
		return false, err
	}
	return true, audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.UserImported, TargetType: "user", TargetID: u.ID,
		Metadata: map[string]any{"password_hash": n.PasswordHash != ""}})
}
