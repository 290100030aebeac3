package userimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
)

// followsBatch is how many follows ImportFollows writes a transaction.
const followsBatch = 2000

// follow is one line of a follows file.
type follow struct {
	Line                int
	Follower, Following string
}

// ImportFollows reads follows from r: JSON lines {"follower", "following"}
// or CSV with the header follower,following, each side a userd id, a
// legacy id, an email or an auth_user_id (tried in that order). In batches
// of followsBatch, each in one transaction, it stores the follows that do
// not exist yet and recounts the counters of their users exactly. A line
// that names an unknown user or a user themself is skipped with its
// reason; Summary.Imported counts the new follows.
func ImportFollows(ctx context.Context, db *sqldb.DB, r io.Reader) (Summary, error) {
	sum := Summary{Skipped: map[string]int{}, Unknown: map[string]int{}}
	next, err := followReader(r)
	if err != nil {
		return sum, err
	}
	var batch []follow
	for {
		f, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, errMalformed) {
			return sum, err
		}
		sum.Read++
		if err != nil {
			sum.skip(f.Line, err.Error())
			continue
		}
		if batch = append(batch, f); len(batch) == followsBatch {
			if err := writeFollows(ctx, db, batch, &sum); err != nil {
				return sum, err
			}
			batch = batch[:0]
		}
	}
	return sum, writeFollows(ctx, db, batch, &sum)
}

// writeFollows resolves and stores a batch of follows in one transaction.
func writeFollows(ctx context.Context, db *sqldb.DB, batch []follow, sum *Summary) error {
	if len(batch) == 0 {
		return nil
	}
	refs := make([]string, 0, 2*len(batch))
	for _, f := range batch {
		refs = append(refs, f.Follower, f.Following)
	}
	var stored int
	var reasons []string
	// System: follows cross users, and an import is no user's doing.
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		ids, err := account.IDsOf(ctx, tx, refs)
		if err != nil {
			return err
		}
		reasons = make([]string, len(batch))
		var pairs []social.Pair
		for i, f := range batch {
			follower, ok1 := ids[f.Follower]
			following, ok2 := ids[f.Following]
			switch {
			case !ok1:
				reasons[i] = "unknown_user (follower)"
			case !ok2:
				reasons[i] = "unknown_user (following)"
			case follower == following:
				reasons[i] = "self_follow"
			default:
				pairs = append(pairs, social.Pair{Follower: follower, Following: following})
			}
		}
		stored, err = social.FollowPairs(ctx, tx, pairs)
		return err
	})
	if err != nil {
		return fmt.Errorf("import follows of lines %d to %d: %w", batch[0].Line, batch[len(batch)-1].Line, err)
	}
	valid := 0
	for i, reason := range reasons {
		if reason != "" {
			sum.skip(batch[i].Line, reason)
		} else {
			valid++
		}
	}
	sum.Imported += stored
	if valid > stored {
		sum.Skipped["already_following"] += valid - stored
	}
	return nil
}

// followReader returns a function that yields follows until io.EOF, as
// reader does users.
func followReader(r io.Reader) (func() (follow, error), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return func() (follow, error) { return follow{}, io.EOF }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read follows file: %w", err)
	}
	valid := func(f follow) (follow, error) {
		f.Follower, f.Following = strings.TrimSpace(f.Follower), strings.TrimSpace(f.Following)
		if f.Follower == "" || f.Following == "" {
			return f, fmt.Errorf("%w: follower and following are required", errMalformed)
		}
		return f, nil
	}
	if first[0] == '{' {
		sc := bufio.NewScanner(br)
		line := 0
		return func() (follow, error) {
			for sc.Scan() {
				line++
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				dec := json.NewDecoder(strings.NewReader(sc.Text()))
				dec.DisallowUnknownFields()
				f := follow{}
				if err := dec.Decode(&struct {
					Follower  *string `json:"follower"`
					Following *string `json:"following"`
				}{&f.Follower, &f.Following}); err != nil {
					return follow{Line: line}, fmt.Errorf("%w: not a JSON object of follower and following", errMalformed)
				}
				f.Line = line
				return valid(f)
			}
			if err := sc.Err(); err != nil {
				return follow{}, fmt.Errorf("read follows file: %w", err)
			}
			return follow{}, io.EOF
		}, nil
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil || len(header) != 2 || strings.TrimSpace(header[0]) != "follower" || strings.TrimSpace(header[1]) != "following" {
		return nil, errors.New("read follows file: the CSV header must be follower,following")
	}
	return func() (follow, error) {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return follow{}, io.EOF
		}
		line := csvLine(cr, err)
		if err != nil || len(row) != 2 {
			return follow{Line: line}, fmt.Errorf("%w: not a CSV row of 2 cells", errMalformed)
		}
		return valid(follow{Line: line, Follower: row[0], Following: row[1]})
	}, nil
}
