// Package vault owns user_accounts and user_credentials: a user's named
// accounts and the API credentials of each, sealed at rest and never shown
// in clear except by an explicit reveal.
package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Account is a named account of a user.
type Account struct {
	ID          string
	Name        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Credentials []Credential
}

// Credential is a credential's metadata: never its secret.
type Credential struct {
	ID        string
	Type      string
	Hint      string // the secret masked, with at most its last 4 characters
	ExpiresAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxAccounts is how many accounts a user may have: CreateAccount refuses
// one more, so that no user grows the table without bound.
const MaxAccounts = 100

// MaxCredentials is how many credentials a user may have across their
// accounts: PutCredential refuses a new one past it.
const MaxCredentials = 1000

// Errors that the functions of this package return.
var (
	ErrAccountNotFound    = userd.Errorf(userd.KindNotFound, "account_not_found", "No such account.")
	ErrCredentialNotFound = userd.Errorf(userd.KindNotFound, "credential_not_found", "No credential of this type on this account.")
	ErrTooManyAccounts    = userd.Errorf(userd.KindConflict, "too_many_accounts", "You have "+strconv.Itoa(MaxAccounts)+" accounts, the most there can be: delete one first.")
	ErrTooManyCredentials = userd.Errorf(userd.KindConflict, "too_many_credentials", "You have "+strconv.Itoa(MaxCredentials)+" credentials, the most there can be: delete one first.")
)

var typeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// maxSecret bounds a secret's size.
const maxSecret = 8 << 10

// CheckName trims an account name and returns its field errors.
func CheckName(name *string) []userd.FieldError {
	*name = strings.TrimSpace(*name)
	if *name == "" || utf8.RuneCountInString(*name) > 255 || strings.ContainsFunc(*name, func(r rune) bool { return r < 0x20 }) {
		return []userd.FieldError{{Field: "account_name", Code: "invalid_text", Message: "An account name has 1 to 255 characters."}}
	}
	return nil
}

// CheckType returns the field errors of a credential type.
func CheckType(t string) []userd.FieldError {
	if !typeRE.MatchString(t) {
		return []userd.FieldError{{Field: "credential_type", Code: "invalid_credential_type", Message: "A credential type is 1 to 64 of a-z, 0-9, '_', '.' and '-', such as api_key."}}
	}
	return nil
}

// CheckSecret returns the field errors of a secret.
func CheckSecret(secret string) []userd.FieldError {
	if secret == "" || len(secret) > maxSecret {
		return []userd.FieldError{{Field: "secret", Code: "invalid_secret", Message: "A secret has 1 byte to 8 KiB."}}
	}
	return nil
}

// hint masks a secret: long ones show their last 4 characters.
func hint(secret string) string {
	r := []rune(secret)
	if len(r) < 12 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}

// ad binds a sealed secret to its row and user.
func ad(credID, userID string) []byte { return seal.AD("user_credentials", "secret", credID, userID) }

// Sealed is the vault's sealed column, for master key rotation.
var Sealed = sqldb.SealedColumn{Table: "user_credentials", Column: "secret", IDColumn: "id", UserColumn: "user_id", AD: ad}

// CreateAccount makes a named account. It returns ErrTooManyAccounts when
// the user has MaxAccounts already, and account.ErrNotFound when there is
// no such user. It locks the user's row until tx ends, so that concurrent
// creations count one after the other.
func CreateAccount(ctx context.Context, tx *sqldb.Tx, userID, name string) (Account, error) {
	if err := checkRoom(ctx, tx, userID); err != nil {
		return Account{}, err
	}
	a := Account{ID: userd.NewID(tx.Now), Name: name, CreatedAt: tx.Now, UpdatedAt: tx.Now, Credentials: []Credential{}}
	_, err := tx.Exec(ctx, `INSERT INTO user_accounts (id, user_id, account_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		a.ID, userID, name, tx.Now)
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// checkRoom returns ErrTooManyAccounts when the user has MaxAccounts accounts (see
// account.LockAndCount: a concurrent creation counts after this transaction).
func checkRoom(ctx context.Context, tx *sqldb.Tx, userID string) error {
	n, err := account.LockAndCount(ctx, tx, userID, "user_accounts")
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	if n >= MaxAccounts {
		return ErrTooManyAccounts
	}
	return nil
}

// Accounts lists the user's accounts with their credentials' metadata,
// newest first, older than beforeID ("" for the first page).
func Accounts(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Account, error) {
	beforeID = sqldb.Before(beforeID)
	rows, err := tx.Query(ctx, `SELECT id, account_name, created_at, updated_at FROM user_accounts
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, userID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var out []Account
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.ID, &a.Name, &a.CreatedAt, &a.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	for i := range out {
		if out[i].Credentials, err = credentials(ctx, tx, userID, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetAccount returns one of the user's accounts, or ErrAccountNotFound.
func GetAccount(ctx context.Context, tx *sqldb.Tx, userID, id string) (Account, error) {
	var a Account
	err := tx.QueryRow(ctx, `SELECT id, account_name, created_at, updated_at FROM user_accounts WHERE user_id = $1 AND id = $2`, userID, id).
		Scan(&a.ID, &a.Name, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrAccountNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("get account: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.Credentials, err = credentials(ctx, tx, userID, id)
	return a, err
}

// RenameAccount changes an account's name. It returns ErrAccountNotFound.
func RenameAccount(ctx context.Context, tx *sqldb.Tx, userID, id, name string) (Account, error) {
	res, err := tx.Exec(ctx, `UPDATE user_accounts SET account_name = $1, updated_at = $2 WHERE user_id = $3 AND id = $4`, name, tx.Now, userID, id)
	if err != nil {
		return Account{}, fmt.Errorf("rename account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Account{}, ErrAccountNotFound
	}
	return GetAccount(ctx, tx, userID, id)
}

// DeleteAccount removes an account and its credentials. It returns
// ErrAccountNotFound.
func DeleteAccount(ctx context.Context, tx *sqldb.Tx, userID, id string) error {
	if err := tx.ExecOne(ctx, ErrAccountNotFound, `DELETE FROM user_accounts WHERE user_id = $1 AND id = $2`, userID, id); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

const credColumns = `id, credential_type, hint, expires_at, created_at, updated_at`

func scanCred(row sqldb.Scanner) (Credential, error) {
	var c Credential
	var exp sql.NullTime
	if err := row.Scan(&c.ID, &c.Type, &c.Hint, &exp, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return Credential{}, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.ExpiresAt = sqldb.TimeOf(exp)
	return c, nil
}

func credentials(ctx context.Context, tx *sqldb.Tx, userID, accountID string) ([]Credential, error) {
	out, err := sqldb.All(ctx, tx, scanCred, `SELECT `+credColumns+` FROM user_credentials WHERE user_id = $1 AND user_account_id = $2 ORDER BY credential_type`, userID, accountID)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return out, nil
}

// GetCredential returns a credential's metadata. It returns
// ErrAccountNotFound or ErrCredentialNotFound.
func GetCredential(ctx context.Context, tx *sqldb.Tx, userID, accountID, typ string) (Credential, error) {
	if _, err := GetAccount(ctx, tx, userID, accountID); err != nil {
		return Credential{}, err
	}
	return sqldb.One(ctx, tx, ErrCredentialNotFound, "get credential", scanCred, `SELECT `+credColumns+` FROM user_credentials
		WHERE user_id = $1 AND user_account_id = $2 AND credential_type = $3`, userID, accountID, typ)
}

// PutCredential stores (or replaces) an account's credential of a type,
// sealing the secret. It returns ErrAccountNotFound, and
// ErrTooManyCredentials for a new one past MaxCredentials.
func PutCredential(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, accountID, typ, secret string, expires *time.Time) (Credential, error) {
	if _, err := GetAccount(ctx, tx, userID, accountID); err != nil {
		return Credential{}, err
	}
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM user_credentials WHERE user_id = $1 AND user_account_id = $2 AND credential_type = $3`,
		userID, accountID, typ).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var n int
		if n, err = account.LockAndCount(ctx, tx, userID, "user_credentials"); err != nil {
			break
		}
		if n >= MaxCredentials {
			return Credential{}, ErrTooManyCredentials
		}
		id = userd.NewID(tx.Now)
		_, err = tx.Exec(ctx, `INSERT INTO user_credentials (id, user_account_id, user_id, credential_type, secret, hint, expires_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, accountID, userID, typ, ring.Seal([]byte(secret), ad(id, userID)), hint(secret), expires, tx.Now)
	case err == nil:
		_, err = tx.Exec(ctx, `UPDATE user_credentials SET secret = $1, hint = $2, expires_at = $3, updated_at = $4 WHERE id = $5 AND user_id = $6`,
			ring.Seal([]byte(secret), ad(id, userID)), hint(secret), expires, tx.Now, id, userID)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("put credential: %w", err)
	}
	return GetCredential(ctx, tx, userID, accountID, typ)
}

// DeleteCredential removes an account's credential of a type. It returns
// ErrAccountNotFound or ErrCredentialNotFound.
func DeleteCredential(ctx context.Context, tx *sqldb.Tx, userID, accountID, typ string) (Credential, error) {
	c, err := GetCredential(ctx, tx, userID, accountID, typ)
	if err != nil {
		return Credential{}, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_credentials WHERE id = $1 AND user_id = $2`, c.ID, userID); err != nil {
		return Credential{}, fmt.Errorf("delete credential: %w", err)
	}
	return c, nil
}

// Reveal returns a credential's secret in clear. It returns
// ErrAccountNotFound or ErrCredentialNotFound, and seal.ErrOpen when the
// master key cannot open it.
func Reveal(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, accountID, typ string) (Credential, string, error) {
	c, err := GetCredential(ctx, tx, userID, accountID, typ)
	if err != nil {
		return Credential{}, "", err
	}
	var sealed []byte
	if err := tx.QueryRow(ctx, `SELECT secret FROM user_credentials WHERE id = $1 AND user_id = $2`, c.ID, userID).Scan(&sealed); err != nil {
		return Credential{}, "", fmt.Errorf("reveal credential: %w", err)
	}
	plain, err := ring.Open(sealed, ad(c.ID, userID))
	if err != nil {
		return Credential{}, "", fmt.Errorf("reveal credential %s: %w", c.ID, err)
	}
	return c, string(plain), nil
}
