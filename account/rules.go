package account

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/userd/userd"
)

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$`)
	phoneRE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Identity is the set of fields a user can sign in with.
type Identity struct {
	Email       string
	Username    string
	PhoneNumber string
}

// Profile is the set of descriptive fields of a user. Empty means unset.
type Profile struct {
	FirstName string
	LastName  string
	AvatarURL string
	Country   string
	City      string
	Zipcode   string
	Language  string // BCP 47; "" means "en"
}

// NormalizeEmail returns the form in which an email is stored and looked up:
// trimmed and lower-cased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkEmail, checkUsername and checkPhone append a field error when a
// non-empty value breaks its rule.
func checkEmail(fe []userd.FieldError, email string) []userd.FieldError {
	if email == "" {
		return fe
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return append(fe, userd.FieldError{Field: "email", Code: "invalid_email", Message: "Enter an email address such as name@example.com."})
	}
	return fe
}

func checkUsername(fe []userd.FieldError, username string) []userd.FieldError {
	if username != "" && !usernameRE.MatchString(username) {
		return append(fe, userd.FieldError{Field: "username", Code: "invalid_username",
			Message: "A username has 3 to 32 letters, digits, '.', '_' or '-', and starts with a letter or digit."})
	}
	return fe
}

func checkPhone(fe []userd.FieldError, phone string) []userd.FieldError {
	if phone != "" && !phoneRE.MatchString(phone) {
		return append(fe, userd.FieldError{Field: "phone_number", Code: "invalid_phone",
			Message: "A phone number is in E.164 form: '+', the country code and the number, digits only."})
	}
	return fe
}

// Check normalises the identity (trims, lower-cases the email) and returns
// the field errors of its values. At least one field must be set.
func (id *Identity) Check() []userd.FieldError {
	id.Email = NormalizeEmail(id.Email)
	id.Username = strings.TrimSpace(id.Username)
	id.PhoneNumber = strings.TrimSpace(id.PhoneNumber)
	var fe []userd.FieldError
	if id.Email == "" && id.Username == "" && id.PhoneNumber == "" {
		return append(fe, userd.FieldError{Field: "email", Code: "required", Message: "Give an email, a username or a phone number."})
	}
	fe = checkEmail(fe, id.Email)
	fe = checkUsername(fe, id.Username)
	return checkPhone(fe, id.PhoneNumber)
}

// textField is one optional text field of a profile: its name (the column
// and JSON name alike), where its value is (nil when a patch leaves it
// alone) and its longest length in characters.
type textField struct {
	name string
	v    *string
	max  int
}

// profileFields lists the profile's text fields in one table that checks and
// updates share.
func profileFields(first, last, avatar, country, city, zip, lang *string) []textField {
	return []textField{
		{"first_name", first, 100}, {"last_name", last, 100}, {"avatar_url", avatar, 2048},
		{"country", country, 100}, {"city", city, 100}, {"zipcode", zip, 20}, {"language", lang, 35},
	}
}

// checkProfile trims each field that is set and returns the field errors.
func checkProfile(fields []textField) []userd.FieldError {
	var fe []userd.FieldError
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		*f.v = strings.TrimSpace(*f.v)
		fe = checkText(fe, f.name, *f.v, f.max)
		switch f.name {
		case "avatar_url":
			fe = checkAvatar(fe, *f.v)
		case "language":
			fe = checkLanguage(fe, f.v)
		}
	}
	return fe
}

// Check trims the profile and returns the field errors of its values.
func (p *Profile) Check() []userd.FieldError {
	return checkProfile(profileFields(&p.FirstName, &p.LastName, &p.AvatarURL, &p.Country, &p.City, &p.Zipcode, &p.Language))
}

func checkText(fe []userd.FieldError, field, v string, max int) []userd.FieldError {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return append(fe, userd.FieldError{Field: field, Code: "invalid_text", Message: "Use at most " + strconv.Itoa(max) + " characters, without control characters."})
	}
	return fe
}

func checkAvatar(fe []userd.FieldError, v string) []userd.FieldError {
	if v == "" {
		return fe
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return append(fe, userd.FieldError{Field: "avatar_url", Code: "invalid_url", Message: "Give an http or https URL."})
	}
	return fe
}

// checkLanguage validates a BCP 47 tag and replaces it by its canonical form.
func checkLanguage(fe []userd.FieldError, v *string) []userd.FieldError {
	if *v == "" {
		return fe
	}
	tag, err := language.Parse(*v)
	if err != nil {
		return append(fe, userd.FieldError{Field: "language", Code: "invalid_language", Message: "Give a BCP 47 language tag such as en or pt-BR."})
	}
	*v = tag.String()
	return fe
}
