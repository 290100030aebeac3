// Package account owns the users table: who a user is, the rules their
// fields follow, and the SQL that reads and writes them. Nothing else writes
// users.
package account

import (
	"time"

	"github.com/userd/userd"
)

// Card is how a user appears in another user's lists (followers, referred
// users): the public fields that name them, and their subject at an
// external identity provider, by which its clients know them.
type Card struct {
	UserID     string
	Username   *string
	FirstName  *string
	LastName   *string
	AvatarURL  *string
	AuthUserID *string
}

// CardColumns are the columns of a Card, of the users table aliased u, in
// the order of Card.Dest.
const CardColumns = `u.id, u.username, u.first_name, u.last_name, u.avatar_url, u.auth_user_id`

// Dest is where a Scan puts CardColumns.
func (c *Card) Dest() []any {
	return []any{&c.UserID, &c.Username, &c.FirstName, &c.LastName, &c.AvatarURL, &c.AuthUserID}
}

// Status is a user's standing.
type Status string

// The statuses a user can have.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusBanned    Status = "banned"
)

// User is a user as userd stores them, without their password hash. Optional
// fields are nil when unset.
type User struct {
	ID                string
	Email             *string
	Username          *string
	PhoneNumber       *string
	AuthUserID        *string
	LegacyID          *string // the id in the system the user was imported from (userd users import); unique
	FirstName         *string
	LastName          *string
	AvatarURL         *string
	Country           *string
	City              *string
	Zipcode           *string
	Language          string
	IsFirstConnection bool
	IsBeta            bool
	Status            Status
	EmailVerifiedAt   *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Errors that the functions of this package return.
var (
	ErrNotFound   = userd.Errorf(userd.KindNotFound, "user_not_found", "No such user.")
	ErrEmailTaken = &userd.Error{Kind: userd.KindConflict, Code: "email_taken", Message: "This email is already registered.",
		Fields: []userd.FieldError{{Field: "email", Code: "taken", Message: "This email is already registered."}}}
	ErrUsernameTaken = &userd.Error{Kind: userd.KindConflict, Code: "username_taken", Message: "This username is taken.",
		Fields: []userd.FieldError{{Field: "username", Code: "taken", Message: "This username is taken."}}}
	ErrPhoneTaken = &userd.Error{Kind: userd.KindConflict, Code: "phone_taken", Message: "This phone number is already registered.",
		Fields: []userd.FieldError{{Field: "phone_number", Code: "taken", Message: "This phone number is already registered."}}}
	ErrAuthUserIDTaken = &userd.Error{Kind: userd.KindConflict, Code: "auth_user_id_taken", Message: "This external id belongs to another user.",
		Fields: []userd.FieldError{{Field: "auth_user_id", Code: "taken", Message: "This external id belongs to another user."}}}
	ErrLegacyIDTaken = &userd.Error{Kind: userd.KindConflict, Code: "legacy_id_taken", Message: "This legacy id belongs to another user.",
		Fields: []userd.FieldError{{Field: "legacy_id", Code: "taken", Message: "This legacy id belongs to another user."}}}
)

// uniqueErrors maps the users table's unique indexes to their errors.
var uniqueErrors = map[string]error{
	"idx_users_email":        ErrEmailTaken,
	"idx_users_username":     ErrUsernameTaken,
	"idx_users_phone_number": ErrPhoneTaken,
	"idx_users_auth_user_id": ErrAuthUserIDTaken,
	"idx_users_legacy_id":    ErrLegacyIDTaken,
}
