package web

import (
	"time"

	"github.com/userd/userd/internal/feature/account"
)

// User is a user as the API shows them to themself and to administrators.
type User struct {
	ID                string     `json:"id" format:"uuid" doc:"UUIDv7: sorts by creation time."`
	Email             *string    `json:"email" format:"email" doc:"Stored lower-cased."`
	Username          *string    `json:"username"`
	PhoneNumber       *string    `json:"phone_number" doc:"E.164, such as +14155550100."`
	AuthUserID        *string    `json:"auth_user_id" doc:"The subject at an external identity provider."`
	LegacyID          *string    `json:"legacy_id" doc:"The id the user had in the system they were imported from (userd users import); unique, and accepted wherever a user id is."`
	FirstName         *string    `json:"first_name"`
	LastName          *string    `json:"last_name"`
	AvatarURL         *string    `json:"avatar_url"`
	Country           *string    `json:"country"`
	City              *string    `json:"city"`
	Zipcode           *string    `json:"zipcode"`
	Language          string     `json:"language" doc:"BCP 47 tag; en by default."`
	IsFirstConnection bool       `json:"is_first_connection" doc:"True until the application clears it after onboarding."`
	IsBeta            bool       `json:"is_beta"`
	Status            string     `json:"status" enum:"active,suspended,banned"`
	EmailVerifiedAt   *time.Time `json:"email_verified_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func userOf(u account.User) User {
	return User{
		ID: u.ID, Email: u.Email, Username: u.Username, PhoneNumber: u.PhoneNumber, AuthUserID: u.AuthUserID, LegacyID: u.LegacyID,
		FirstName: u.FirstName, LastName: u.LastName, AvatarURL: u.AvatarURL, Country: u.Country, City: u.City,
		Zipcode: u.Zipcode, Language: u.Language, IsFirstConnection: u.IsFirstConnection, IsBeta: u.IsBeta,
		Status: string(u.Status), EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// UserCard is how a user appears in another user's lists.
type UserCard struct {
	ID         string  `json:"id" format:"uuid"`
	Username   *string `json:"username"`
	FirstName  *string `json:"first_name"`
	LastName   *string `json:"last_name"`
	AvatarURL  *string `json:"avatar_url"`
	AuthUserID *string `json:"auth_user_id" doc:"The user's subject at an external identity provider, by which its clients know them; null when they have none or the server hides it (--public-auth-user-id=false)."`
}

// cardOf is how c appears in lists; hide leaves out their auth_user_id.
func cardOf(c account.Card, hide bool) UserCard {
	if hide {
		c.AuthUserID = nil
	}
	return UserCard{ID: c.UserID, Username: c.Username, FirstName: c.FirstName, LastName: c.LastName, AvatarURL: c.AvatarURL, AuthUserID: c.AuthUserID}
}

// PublicUser is what anyone may see of a user.
type PublicUser struct {
	ID        string    `json:"id" format:"uuid"`
	Username  *string   `json:"username"`
	FirstName *string   `json:"first_name"`
	LastName  *string   `json:"last_name"`
	AvatarURL *string   `json:"avatar_url"`
	Country   *string   `json:"country"`
	City      *string   `json:"city"`
	CreatedAt time.Time `json:"created_at"`
	// AuthUserID: see UserCard.
	AuthUserID *string `json:"auth_user_id" doc:"The user's subject at an external identity provider, by which its clients know them; null when they have none or the server hides it (--public-auth-user-id=false)."`

	FollowersCount  int64 `json:"followers_count"`
	FollowingsCount int64 `json:"followings_count"`
	FollowedByMe    *bool `json:"followed_by_me" doc:"Whether the signed-in caller follows this user; null for an anonymous caller."`
}

// publicUserOf is what anyone may see of u; hide leaves out their
// auth_user_id.
func publicUserOf(u account.User, hide bool) PublicUser {
	c := cardOf(account.Card{AuthUserID: u.AuthUserID}, hide)
	return PublicUser{ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		AvatarURL: u.AvatarURL, Country: u.Country, City: u.City, CreatedAt: u.CreatedAt, AuthUserID: c.AuthUserID}
}

// NewUserFields are the fields of a new user, in sign-up and in the
// administrators' create.
type NewUserFields struct {
	Email       string `json:"email,omitempty" doc:"Needed unless username or phone_number is given."`
	Username    string `json:"username,omitempty" doc:"3 to 32 letters, digits, '.', '_' or '-'; unique without regard to case."`
	PhoneNumber string `json:"phone_number,omitempty" doc:"E.164."`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	AvatarURL   string `json:"avatar_url,omitempty"`
	Country     string `json:"country,omitempty"`
	City        string `json:"city,omitempty"`
	Zipcode     string `json:"zipcode,omitempty"`
	Language    string `json:"language,omitempty" doc:"BCP 47; en by default."`
}

func (f NewUserFields) identity() account.Identity {
	return account.Identity{Email: f.Email, Username: f.Username, PhoneNumber: f.PhoneNumber}
}

func (f NewUserFields) profile() account.Profile {
	return account.Profile{FirstName: f.FirstName, LastName: f.LastName, AvatarURL: f.AvatarURL,
		Country: f.Country, City: f.City, Zipcode: f.Zipcode, Language: f.Language}
}

// ProfilePatch is a change of profile: an absent field stays as it is, an
// empty string clears an optional one.
type ProfilePatch struct {
	Username          *string `json:"username,omitempty"`
	FirstName         *string `json:"first_name,omitempty" doc:"An empty string clears it."`
	LastName          *string `json:"last_name,omitempty"`
	AvatarURL         *string `json:"avatar_url,omitempty"`
	Country           *string `json:"country,omitempty"`
	City              *string `json:"city,omitempty"`
	Zipcode           *string `json:"zipcode,omitempty"`
	Language          *string `json:"language,omitempty"`
	IsFirstConnection *bool   `json:"is_first_connection,omitempty" doc:"Set to false once onboarding is done."`
}

func (b ProfilePatch) patch() account.Patch {
	return account.Patch{Username: b.Username, FirstName: b.FirstName, LastName: b.LastName, AvatarURL: b.AvatarURL,
		Country: b.Country, City: b.City, Zipcode: b.Zipcode, Language: b.Language, IsFirstConnection: b.IsFirstConnection}
}
