package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// columns lists the users columns that scan reads, in its order.
const columns = `id, email, username, phone_number, auth_user_id, first_name, last_name, avatar_url,
	country, city, zipcode, language, is_first_connection, is_beta, status, email_verified_at, created_at, updated_at, legacy_id`

func scan(row sqldb.Scanner, extra ...any) (User, error) {
	var u User
	var verified sql.NullTime
	dest := []any{&u.ID, &u.Email, &u.Username, &u.PhoneNumber, &u.AuthUserID, &u.FirstName, &u.LastName, &u.AvatarURL,
		&u.Country, &u.City, &u.Zipcode, &u.Language, &u.IsFirstConnection, &u.IsBeta, &u.Status, &verified, &u.CreatedAt, &u.UpdatedAt, &u.LegacyID}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return User{}, err
	}
	u.EmailVerifiedAt = sqldb.TimeOf(verified)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// New is what Insert needs to create a user. Check it first.
type New struct {
	Identity
	Profile
	AuthUserID   string
	PasswordHash string
}

// Insert creates a user. It returns ErrEmailTaken, ErrUsernameTaken,
// ErrPhoneTaken or ErrAuthUserIDTaken when a unique field collides.
func Insert(ctx context.Context, tx *sqldb.Tx, n New) (User, error) {
	lang := n.Language
	if lang == "" {
		lang = "en"
	}
	id := userd.NewID(tx.Now)
	row := tx.QueryRow(ctx, `INSERT INTO users (id, email, username, phone_number, auth_user_id, password_hash,
			first_name, last_name, avatar_url, country, city, zipcode, language, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		RETURNING `+columns,
		id, sqldb.Nullable(n.Email), sqldb.Nullable(n.Username), sqldb.Nullable(n.PhoneNumber), sqldb.Nullable(n.AuthUserID), sqldb.Nullable(n.PasswordHash),
		sqldb.Nullable(n.FirstName), sqldb.Nullable(n.LastName), sqldb.Nullable(n.AvatarURL), sqldb.Nullable(n.Country), sqldb.Nullable(n.City), sqldb.Nullable(n.Zipcode),
		lang, tx.Now)
	u, err := scan(row)
	if err != nil {
		return User{}, mapUnique(fmt.Errorf("insert user: %w", err))
	}
	return u, nil
}

func mapUnique(err error) error {
	if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.Unique {
		if mapped, ok := uniqueErrors[c.Name]; ok {
			return mapped
		}
	}
	return err
}

// Get returns the user with the given id, or ErrNotFound.
func Get(ctx context.Context, tx *sqldb.Tx, id string) (User, error) {
	return sqldb.One(ctx, tx, ErrNotFound, "get user", scanUser, `SELECT `+columns+` FROM users WHERE id = $1`, id)
}

// GetVia returns the user that a query finds, in one statement with the
// query's own columns. via is a SELECT with a user_id column; its columns,
// in their order, are scanned into extra, and their names must differ from
// users' (alias them: "s.id AS session_id"). It returns ErrNotFound when via
// finds no user.
func GetVia(ctx context.Context, tx *sqldb.Tx, via string, extra []any, args ...any) (User, error) {
	return sqldb.One(ctx, tx, ErrNotFound, "get user", func(row sqldb.Scanner) (User, error) { return scan(row, extra...) },
		viaQuery(via), args...)
}

// EachVia calls fn with each user that a query finds, in one statement, as
// GetVia does for one: the query's own columns of each row are in extra
// when fn runs.
func EachVia(ctx context.Context, tx *sqldb.Tx, via string, extra []any, fn func(User) error, args ...any) error {
	return sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		u, err := scan(row, extra...)
		if err != nil {
			return err
		}
		return fn(u)
	}, viaQuery(via), args...)
}

// viaQuery is the statement of GetVia and EachVia.
func viaQuery(via string) string {
	return `SELECT ` + columns + `, v.* FROM users JOIN (` + via + `) v ON v.user_id = users.id`
}

// Kind of identifier that FindForLogin looks up.
func identifierQuery(identifier string) (where, value string) {
	switch {
	case strings.Contains(identifier, "@"):
		return "email = $1", NormalizeEmail(identifier)
	case strings.HasPrefix(identifier, "+"):
		return "phone_number = $1", strings.TrimSpace(identifier)
	default:
		return "lower(username) = lower($1)", strings.TrimSpace(identifier)
	}
}

// FindForLogin returns the user whose email, phone number or username (by
// the identifier's shape) is identifier, with their password hash ("" when
// they have none). It returns ErrNotFound when there is no such user.
func FindForLogin(ctx context.Context, tx *sqldb.Tx, identifier string) (User, string, error) {
	where, value := identifierQuery(identifier)
	var hash sql.NullString
	u, err := scan(tx.QueryRow(ctx, `SELECT `+columns+`, password_hash FROM users WHERE `+where, value), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", fmt.Errorf("find user: %w", err)
	}
	return u, hash.String, nil
}

// SetPasswordHash replaces a user's password hash; an empty hash removes
// the password, so that it opens nothing.
func SetPasswordHash(ctx context.Context, tx *sqldb.Tx, id, hash string) error {
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, sqldb.Nullable(hash), tx.Now, id); err != nil {
		return fmt.Errorf("set password hash: %w", err)
	}
	tx.Invalidate(userd.UserKey(id))
	return nil
}

// LockAndCount locks the user's row, so that a concurrent caller waits for
// this transaction, and counts their rows in table (a table with a user_id):
// the way to hold a per-user cap. It returns ErrNotFound for no such user.
func LockAndCount(ctx context.Context, tx *sqldb.Tx, userID, table string) (int, error) {
	ok, err := tx.LockRow(ctx, "users", "id", userID)
	if err != nil {
		return 0, fmt.Errorf("lock user: %w", err)
	}
	if !ok {
		return 0, ErrNotFound
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// Deref returns what an optional field holds: "" for none.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// VerifyEmailOf marks verified the email of the user who has it and
// returns their id, or ErrNotFound when nobody has it.
func VerifyEmailOf(ctx context.Context, tx *sqldb.Tx, email string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1
		WHERE email = $2 RETURNING id`, tx.Now, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("verify email: %w", err)
	}
	tx.Invalidate(userd.UserKey(id))
	return id, nil
}

// Detach removes what signs a user in apart from their email: their
// password and their subject at an external identity provider, for an
// account whose control passes to whoever proved its address.
func Detach(ctx context.Context, tx *sqldb.Tx, id string) error {
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = NULL, auth_user_id = NULL, updated_at = $1 WHERE id = $2`, tx.Now, id); err != nil {
		return fmt.Errorf("detach user: %w", err)
	}
	tx.Invalidate(userd.UserKey(id))
	return nil
}

// MarkEmailVerified records that the user's email address is theirs, unless
// it was already.
func MarkEmailVerified(ctx context.Context, tx *sqldb.Tx, id string) error {
	if _, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2`, tx.Now, id); err != nil {
		return fmt.Errorf("mark email verified: %w", err)
	}
	tx.Invalidate(userd.UserKey(id))
	return nil
}

// Patch lists the fields a user changes about themself. A nil field stays as
// it is; an empty string clears an optional field.
type Patch struct {
	// Email, PhoneNumber, IsBeta and Status are for administrators; a
	// new email is unverified.
	Email             *string
	PhoneNumber       *string
	IsBeta            *bool
	Status            *Status
	Username          *string
	FirstName         *string
	LastName          *string
	AvatarURL         *string
	Country           *string
	City              *string
	Zipcode           *string
	Language          *string
	IsFirstConnection *bool
}

func (p *Patch) fields() []textField {
	return profileFields(p.FirstName, p.LastName, p.AvatarURL, p.Country, p.City, p.Zipcode, p.Language)
}

// Check normalises the patch and returns the field errors of its values.
func (p *Patch) Check() []userd.FieldError {
	var fe []userd.FieldError
	if p.Username != nil {
		*p.Username = strings.TrimSpace(*p.Username)
		fe = checkUsername(fe, *p.Username)
	}
	if p.Email != nil {
		*p.Email = NormalizeEmail(*p.Email)
		fe = checkEmail(fe, *p.Email)
	}
	if p.PhoneNumber != nil {
		*p.PhoneNumber = strings.TrimSpace(*p.PhoneNumber)
		fe = checkPhone(fe, *p.PhoneNumber)
	}
	if p.Status != nil && *p.Status != StatusActive && *p.Status != StatusSuspended && *p.Status != StatusBanned {
		fe = append(fe, userd.FieldError{Field: "status", Code: "invalid_status", Message: "A status is active, suspended or banned."})
	}
	return append(fe, checkProfile(p.fields())...)
}

// Update applies a checked patch to the user with the given id and returns
// the user as they are now. It returns ErrNotFound, or ErrUsernameTaken when
// the new username collides.
func Update(ctx context.Context, tx *sqldb.Tx, id string, p Patch) (User, error) {
	var sets []string
	args := []any{id, tx.Now}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if p.Username != nil {
		set("username", sqldb.Nullable(*p.Username))
	}
	if p.Email != nil {
		set("email", sqldb.Nullable(*p.Email))
		sets = append(sets, "email_verified_at = CASE WHEN email IS NOT DISTINCT FROM "+fmt.Sprintf("$%d", len(args))+" THEN email_verified_at END")
	}
	if p.PhoneNumber != nil {
		set("phone_number", sqldb.Nullable(*p.PhoneNumber))
	}
	if p.IsBeta != nil {
		set("is_beta", *p.IsBeta)
	}
	if p.Status != nil {
		set("status", string(*p.Status))
	}
	for _, f := range p.fields() {
		switch {
		case f.v == nil:
		case f.name == "language" && *f.v == "":
			set(f.name, "en")
		default:
			set(f.name, sqldb.Nullable(*f.v))
		}
	}
	if p.IsFirstConnection != nil {
		set("is_first_connection", *p.IsFirstConnection)
	}
	sets = append(sets, "updated_at = $2")
	u, err := scan(tx.QueryRow(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = $1 RETURNING `+columns, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.Check {
			return User{}, userd.Invalid([]userd.FieldError{{Field: "email", Code: "required",
				Message: "A user keeps at least one of email, username and phone number."}})
		}
		return User{}, mapUnique(fmt.Errorf("update user: %w", err))
	}
	tx.Invalidate(userd.UserKey(id))
	return u, nil
}

// Delete removes the user with the given id; the database cascades to what
// they own. It returns ErrNotFound when there is no such user.
func Delete(ctx context.Context, tx *sqldb.Tx, id string) error {
	if err := tx.ExecOne(ctx, ErrNotFound, `DELETE FROM users WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	tx.Invalidate(userd.UserKey(id))
	return nil
}

// FirstID sorts before every id: List's cursor for the first page.
const FirstID = "00000000-0000-0000-0000-000000000000"

// List returns up to limit users whose id sorts after afterID, in id order,
// which is creation order for UUIDv7 ids. Pass FirstID for the first page.
func List(ctx context.Context, tx *sqldb.Tx, afterID string, limit int) ([]User, error) {
	out, err := sqldb.All(ctx, tx, scanUser, `SELECT `+columns+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

func scanUser(row sqldb.Scanner) (User, error) { return scan(row) }

// Exists reports whether a user has any of the identity's email, username
// or phone number.
func Exists(ctx context.Context, tx *sqldb.Tx, id Identity) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE email = $1 OR lower(username) = lower($2) OR phone_number = $3`,
		id.Email, id.Username, id.PhoneNumber).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up identity: %w", err)
	}
	return n > 0, nil
}

// InsertBatch creates many checked users in one statement: the bulk path
// for seeding and loading. It returns an error for any collision.
func InsertBatch(ctx context.Context, tx *sqldb.Tx, news []New) error {
	if len(news) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO users (id, email, username, phone_number, password_hash, first_name, last_name, language, created_at, updated_at) VALUES `)
	args := make([]any, 0, len(news)*8+1)
	args = append(args, tx.Now)
	for i, n := range news {
		if i > 0 {
			b.WriteString(", ")
		}
		k := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $1, $1)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8)
		lang := n.Language
		if lang == "" {
			lang = "en"
		}
		args = append(args, userd.NewID(tx.Now), sqldb.Nullable(n.Email), sqldb.Nullable(n.Username), sqldb.Nullable(n.PhoneNumber),
			sqldb.Nullable(n.PasswordHash), sqldb.Nullable(n.FirstName), sqldb.Nullable(n.LastName), lang)
	}
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return mapUnique(fmt.Errorf("insert users: %w", err))
	}
	return nil
}

// Search returns up to limit users, newest first, whose email, username,
// phone number or names contain q (without regard to case; "" matches
// everyone) or whose legacy id is q exactly, created before the user
// beforeID ("" for the first page).
func Search(ctx context.Context, tx *sqldb.Tx, q, beforeID string, limit int) ([]User, error) {
	beforeID = sqldb.Before(beforeID)
	pattern := sqldb.Contains(q)
	out, err := sqldb.All(ctx, tx, scanUser, `SELECT `+columns+` FROM users
		WHERE id < $1 AND ($2 = '%%' OR lower(email) LIKE $2 ESCAPE '\' OR lower(username) LIKE $2 ESCAPE '\'
			OR phone_number LIKE $2 ESCAPE '\' OR lower(first_name) LIKE $2 ESCAPE '\' OR lower(last_name) LIKE $2 ESCAPE '\' OR legacy_id = $4)
		ORDER BY id DESC LIMIT $3`, beforeID, pattern, limit, strings.TrimSpace(q))
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return out, nil
}

// Resolve finds the user a reference names: a userd id, or else a legacy
// id (see ByLegacyID), or else the auth_user_id of an external identity
// provider (so that users known only by their provider's subject can be
// followed and looked up). It returns ErrNotFound.
func Resolve(ctx context.Context, tx *sqldb.Tx, ref string) (User, error) {
	if id, ok := userd.ParseID(ref); ok {
		u, err := Get(ctx, tx, id)
		if !errors.Is(err, ErrNotFound) {
			return u, err
		}
	}
	u, err := ByLegacyID(ctx, tx, ref)
	if !errors.Is(err, ErrNotFound) {
		return u, err
	}
	return ByAuthUserID(ctx, tx, ref)
}

// ByLegacyID returns the user imported with the given legacy id, or
// ErrNotFound.
func ByLegacyID(ctx context.Context, tx *sqldb.Tx, legacyID string) (User, error) {
	if legacyID == "" || len(legacyID) > MaxLegacyID {
		return User{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "find user by legacy_id", scanUser, `SELECT `+columns+` FROM users WHERE legacy_id = $1`, legacyID)
}

// ByEmail returns the user whose email is email, compared in its stored
// form (see NormalizeEmail), or ErrNotFound.
func ByEmail(ctx context.Context, tx *sqldb.Tx, email string) (User, error) {
	if len(email) > 1024 { // no address is this long: spare the normalisation
		return User{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "find user by email", scanUser, `SELECT `+columns+` FROM users WHERE email = $1`, NormalizeEmail(email))
}

// ByAuthUserID returns the user with the given external id, or ErrNotFound.
func ByAuthUserID(ctx context.Context, tx *sqldb.Tx, sub string) (User, error) {
	if sub == "" || len(sub) > 255 {
		return User{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "find user by auth_user_id", scanUser, `SELECT `+columns+` FROM users WHERE auth_user_id = $1`, sub)
}
