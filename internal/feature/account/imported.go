package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// MaxLegacyID is the longest legacy id, in bytes.
const MaxLegacyID = 255

// Imported is a user brought from another system (userd users import),
// with every field userd keeps. Check it first.
type Imported struct {
	New
	LegacyID          string
	IsBeta            bool
	IsFirstConnection bool
	Status            Status
	EmailVerifiedAt   *time.Time
	// CreatedAt is when the other system created the user; the zero time
	// means the transaction's. The user's id is a UUIDv7 of it, so that ids
	// keep the order of creation.
	CreatedAt time.Time
}

// Check normalises the user as Identity.Check and Profile.Check do, and
// returns the field errors of its values: theirs, and invalid_text
// (legacy_id, auth_user_id) and invalid_status.
func (m *Imported) Check() []userd.FieldError {
	fe := m.Identity.Check()
	if len(fe) == 1 && fe[0].Code == "required" && m.AuthUserID != "" {
		fe = nil // a user known only by their provider's subject
	}
	fe = append(fe, m.Profile.Check()...)
	m.LegacyID, m.AuthUserID = strings.TrimSpace(m.LegacyID), strings.TrimSpace(m.AuthUserID)
	fe = checkText(fe, "legacy_id", m.LegacyID, MaxLegacyID)
	fe = checkText(fe, "auth_user_id", m.AuthUserID, 255)
	switch m.Status {
	case "":
		m.Status = StatusActive
	case StatusActive, StatusSuspended, StatusBanned:
	default:
		fe = append(fe, userd.FieldError{Field: "status", Code: "invalid_status", Message: "A status is active, suspended or banned."})
	}
	return fe
}

// Keys are the unique values of a user, each prefixed by its field
// ("email:", "username:" lower-cased, "phone_number:", "auth_user_id:",
// "legacy_id:"): what two users cannot share.
func (m *Imported) Keys() []string {
	var keys []string
	for _, k := range [][2]string{{"legacy_id", m.LegacyID}, {"email", m.Email}, {"username", strings.ToLower(m.Username)},
		{"phone_number", m.PhoneNumber}, {"auth_user_id", m.AuthUserID}} {
		if k[1] != "" {
			keys = append(keys, k[0]+":"+k[1])
		}
	}
	return keys
}

// importColumns are the columns InsertImported writes, in its order.
const importColumns = `id, email, username, phone_number, auth_user_id, password_hash, first_name, last_name, avatar_url,
	country, city, zipcode, language, is_first_connection, is_beta, status, email_verified_at, created_at, updated_at, legacy_id`

// importRowsAtOnce is how many users InsertImported writes a statement: 20
// parameters each, few enough for SQLite, which binds them in quadratic
// time.
const importRowsAtOnce = 10

// InsertImported creates the checked users of ms that collide with no
// stored user on a unique field (the others are left alone), a statement
// per importRowsAtOnce users, and returns the ids it gave them: "" for each
// user it left alone.
func InsertImported(ctx context.Context, tx *sqldb.Tx, ms []Imported) ([]string, error) {
	const cols = 20
	ids := make([]string, len(ms))
	for start := 0; start < len(ms); start += importRowsAtOnce {
		chunk := ms[start:min(start+importRowsAtOnce, len(ms))]
		args := make([]any, 0, cols*len(chunk))
		at := make(map[string]int, len(chunk))
		for i, m := range chunk {
			created := m.CreatedAt
			if created.IsZero() {
				created = tx.Now
			}
			id := userd.NewID(created)
			at[id] = start + i
			lang := m.Language
			if lang == "" {
				lang = "en"
			}
			args = append(args, id, sqldb.Nullable(m.Email), sqldb.Nullable(m.Username), sqldb.Nullable(m.PhoneNumber), sqldb.Nullable(m.AuthUserID),
				sqldb.Nullable(m.PasswordHash), sqldb.Nullable(m.FirstName), sqldb.Nullable(m.LastName), sqldb.Nullable(m.AvatarURL),
				sqldb.Nullable(m.Country), sqldb.Nullable(m.City), sqldb.Nullable(m.Zipcode), lang, m.IsFirstConnection, m.IsBeta, string(m.Status),
				sqldb.Stored(m.EmailVerifiedAt), *sqldb.Stored(&created), tx.Now, sqldb.Nullable(m.LegacyID))
		}
		made, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (id string, err error) { return id, row.Scan(&id) },
			`INSERT INTO users (`+importColumns+`) VALUES `+sqldb.Values(1, len(chunk), cols)+` ON CONFLICT DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert imported users: %w", err)
		}
		for _, id := range made {
			ids[at[id]] = id
		}
	}
	return ids, nil
}

// Taken returns, for each of ms, the first of its unique values (as Keys
// names them) that a stored user holds, "" for none: why InsertImported
// left it alone.
func Taken(ctx context.Context, tx *sqldb.Tx, ms []Imported) ([]string, error) {
	var values []any
	for _, m := range ms {
		for _, k := range m.Keys() {
			values = append(values, k[strings.IndexByte(k, ':')+1:])
		}
	}
	stored := map[string]bool{}
	for chunk := range slices.Chunk(values, 500) {
		in := sqldb.Values(1, 1, len(chunk))
		rows, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (Imported, error) {
			var m Imported
			var email, username, phone, auth, legacy *string
			err := row.Scan(&email, &username, &phone, &auth, &legacy)
			m.Email, m.Username, m.PhoneNumber, m.AuthUserID, m.LegacyID = Deref(email), Deref(username), Deref(phone), Deref(auth), Deref(legacy)
			return m, err
		}, `SELECT email, username, phone_number, auth_user_id, legacy_id FROM users
			WHERE legacy_id IN `+in+` OR email IN `+in+` OR lower(username) IN `+in+` OR phone_number IN `+in+` OR auth_user_id IN `+in, chunk...)
		if err != nil {
			return nil, fmt.Errorf("find taken identifiers: %w", err)
		}
		for _, m := range rows {
			for _, k := range m.Keys() {
				stored[k] = true
			}
		}
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		for _, k := range m.Keys() {
			if stored[k] {
				out[i] = k[:strings.IndexByte(k, ':')]
				break
			}
		}
	}
	return out, nil
}

// IDsOf returns the ids of the users that refs name, each a userd id, a
// legacy id, an email or an auth_user_id, tried in that order: a map from
// each ref that names a user to the user's id.
func IDsOf(ctx context.Context, tx *sqldb.Tx, refs []string) (map[string]string, error) {
	found := make(map[string]string, len(refs))
	for chunk := range slices.Chunk(refs, 500) {
		// The refs each kind of value would match, and the query's values.
		byID, byEmail, byText := map[string][]string{}, map[string][]string{}, map[string][]string{}
		for _, r := range chunk {
			byText[r] = append(byText[r], r)
			if strings.Contains(r, "@") {
				byEmail[NormalizeEmail(r)] = append(byEmail[NormalizeEmail(r)], r)
			}
			if id, ok := userd.ParseID(r); ok {
				byID[id] = append(byID[id], r)
			}
		}
		var texts, emails, ids []any
		for v := range byText {
			texts = append(texts, v)
		}
		for v := range byEmail {
			emails = append(emails, v)
		}
		for v := range byID {
			ids = append(ids, v)
		}
		where := `legacy_id IN ` + sqldb.Values(1, 1, len(texts)) + ` OR auth_user_id IN ` + sqldb.Values(1, 1, len(texts))
		if len(emails) > 0 {
			where += ` OR email IN ` + sqldb.Values(len(texts)+1, 1, len(emails))
		}
		if len(ids) > 0 {
			where += ` OR id IN ` + sqldb.Values(len(texts)+len(emails)+1, 1, len(ids))
		}
		type hit struct{ id, legacy, email, auth string }
		hits, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (hit, error) {
			var h hit
			var legacy, email, auth *string
			err := row.Scan(&h.id, &legacy, &email, &auth)
			h.legacy, h.email, h.auth = Deref(legacy), Deref(email), Deref(auth)
			return h, err
		}, `SELECT id, legacy_id, email, auth_user_id FROM users WHERE `+where, slices.Concat(texts, emails, ids)...)
		if err != nil {
			return nil, fmt.Errorf("resolve users: %w", err)
		}
		// Each kind of match in the reverse order of precedence, so that the
		// better ones are written last.
		for _, match := range []func(h hit) []string{
			func(h hit) []string { return byText[h.auth] }, func(h hit) []string { return byEmail[h.email] },
			func(h hit) []string { return byText[h.legacy] }, func(h hit) []string { return byID[h.id] },
		} {
			for _, h := range hits {
				for _, r := range match(h) {
					found[r] = h.id
				}
			}
		}
	}
	return found, nil
}
