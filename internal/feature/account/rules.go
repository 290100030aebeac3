package account

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/bidirule"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"

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

// emailProblem is why an email is refused; it is the message of the field
// error invalid_email.
type emailProblem string

func (p emailProblem) Error() string { return string(p) }

// The reasons normalizeEmail refuses an email.
const (
	errEmailShape     emailProblem = "Enter an email address such as name@example.com."
	errEmailInvisible emailProblem = "An email address cannot contain invisible or control characters."
	errEmailIP        emailProblem = "An email address needs a domain name, not an IP address."
	errEmailDomain    emailProblem = "The domain of this email address is not a valid domain name."
	errEmailScript    emailProblem = "Each part of an email address is written in one script: letters of different alphabets (such as Latin and Cyrillic) cannot be mixed."
)

// emailPart is the PRECIS profile (RFC 8264) of an email's local part and of
// each label of its domain in Unicode: the IdentifierClass (letters, digits
// and printable ASCII; no spaces, symbols, emoji, controls or invisible
// characters), lower-cased and NFKC-normalised.
var emailPart = precis.NewIdentifier(precis.LowerCase(), precis.Norm(norm.NFKC), precis.DisallowEmpty)

// emailDomain converts a domain to its IDNA ASCII form (punycode) and back.
// It is IDNA's registration profile, which maps nothing (a domain that would
// need mapping is refused), without the rules on ASCII that email never
// followed, so that every ASCII domain valid before IDNA stays valid: the
// characters beyond letters, digits and '-' (STD3), hyphens at the ends of a
// label and DNS lengths (the whole email has its own bound).
var emailDomain = idna.New(idna.ValidateForRegistration(), idna.StrictDomainName(false), idna.CheckHyphens(false), idna.VerifyDNSLength(false))

// scriptMixes are the sets of scripts that one local part or domain label
// may mix beyond a single script: the Highly Restrictive level of UTS #39
// (Japanese, Chinese with Bopomofo, Korean, each with Latin).
var scriptMixes = [][]*unicode.RangeTable{
	{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana},
	{unicode.Latin, unicode.Han, unicode.Bopomofo},
	{unicode.Latin, unicode.Han, unicode.Hangul},
}

// NormalizeEmail returns the form in which an email is stored and looked up:
// trimmed, NFKC-normalised (so fullwidth letters become ASCII ones),
// lower-cased, with its domain in IDNA ASCII form (пример.рф becomes
// xn--e1afmkfd.xn--p1ai). An email that Identity.Check refuses is returned
// only trimmed, NFKC-normalised and lower-cased: it matches no stored email.
func NormalizeEmail(s string) string {
	if email, err := normalizeEmail(s); err == nil {
		return email
	}
	return foldEmail(s)
}

// CheckEmail returns email in the form of NormalizeEmail, or a validation
// error on the field email: required when it is empty, invalid_email when
// the rules of a user's email refuse it. It is for other features that
// keep addresses (the newsletter's), so that one address is spelt one way
// everywhere.
func CheckEmail(email string) (string, error) {
	if len(email) > 1024 { // no address is this long: spare the normalisation
		return "", userd.Invalid([]userd.FieldError{{Field: "email", Code: "invalid_email", Message: errEmailShape.Error()}})
	}
	stored := NormalizeEmail(email)
	if stored == "" {
		return "", userd.Invalid([]userd.FieldError{{Field: "email", Code: "required", Message: "Give an email address."}})
	}
	if fe := checkEmail(nil, stored); len(fe) > 0 {
		return "", userd.Invalid(fe)
	}
	return stored, nil
}

// foldEmail trims, NFKC-normalises and lower-cases an email: the first steps
// of its normalisation.
func foldEmail(s string) string { return strings.ToLower(norm.NFKC.String(strings.TrimSpace(s))) }

// normalizeEmail returns an email in its stored form, or the emailProblem
// that refuses it: invisible or control characters, an IP address for a
// domain, a local part or domain label outside PRECIS or IDNA, letters of
// different scripts in one local part or label, or a malformed address.
func normalizeEmail(s string) (string, error) {
	s = foldEmail(s)
	if strings.ContainsFunc(s, invisible) {
		return "", errEmailInvisible
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errEmailShape
	}
	local, err := normalizeLocal(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := normalizeDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	email := local + "@" + domain
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(domain, ".") {
		return "", errEmailShape
	}
	return email, nil
}

// invisible reports whether r is a control character (C0, DEL, C1), a format
// character (zero-width spaces and joiners, the soft hyphen, bidi controls)
// or another default-ignorable character (fillers, variation selectors).
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// normalizeLocal returns a local part through emailPart, or errEmailShape
// when PRECIS or the Bidi Rule (RFC 5893, for right-to-left text) refuses
// it, or errEmailScript when it mixes scripts.
func normalizeLocal(local string) (string, error) {
	local, err := emailPart.String(local)
	switch {
	case err != nil, bidirule.DirectionString(local) == bidi.RightToLeft && !bidirule.ValidString(local):
		return "", errEmailShape
	case !oneScript(local):
		return "", errEmailScript
	}
	return local, nil
}

// normalizeDomain returns a domain in IDNA ASCII form. It returns errEmailIP
// for an IP address, errEmailDomain when IDNA or PRECIS refuses a label (so
// symbols and emoji, which IDNA 2008 does not allow, are refused), and
// errEmailScript when a label mixes scripts.
func normalizeDomain(domain string) (string, error) {
	if ipDomain(domain) {
		return "", errEmailIP
	}
	ascii, err := emailDomain.ToASCII(domain)
	if err != nil {
		return "", errEmailDomain
	}
	uni, err := emailDomain.ToUnicode(ascii)
	if err != nil {
		return "", errEmailDomain
	}
	for _, label := range strings.Split(uni, ".") {
		if _, err := emailPart.String(label); err != nil {
			return "", errEmailDomain
		}
		if !oneScript(label) {
			return "", errEmailScript
		}
	}
	return ascii, nil
}

// ipDomain reports whether a domain is an IP address: a literal in brackets
// ([127.0.0.1], [IPv6:::1]) or a name whose last label is all digits, as an
// IPv4 address's is and no top-level domain's is (RFC 3696, section 2).
func ipDomain(domain string) bool {
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	return strings.HasPrefix(domain, "[") || tld != "" && strings.Trim(tld, "0123456789") == ""
}

// oneScript reports whether the letters of s, leaving aside the characters
// of the Common and Inherited scripts that go with any script (digits,
// punctuation, combining marks), are of one script or of one of
// scriptMixes. ASCII is Latin and Common alone: it passes at once.
func oneScript(s string) bool {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return true
	}
	letters := strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Common, unicode.Inherited) {
			return -1
		}
		return r
	}, s)
	for _, script := range unicode.Scripts {
		if within(letters, script) {
			return true
		}
	}
	for _, mix := range scriptMixes {
		if within(letters, mix...) {
			return true
		}
	}
	return false
}

// within reports whether every character of s is in one of tables.
func within(s string, tables ...*unicode.RangeTable) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.In(r, tables...) })
}

// checkEmail, checkUsername and checkPhone append a field error when a
// non-empty value breaks its rule. checkEmail takes an email that
// NormalizeEmail returned: it must be in its stored form already.
func checkEmail(fe []userd.FieldError, email string) []userd.FieldError {
	if email == "" {
		return fe
	}
	stored, err := normalizeEmail(email)
	if err == nil && stored != email {
		err = errEmailShape
	}
	if err != nil {
		return append(fe, userd.FieldError{Field: "email", Code: "invalid_email", Message: err.Error()})
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

// Check normalises the identity (trims, and puts the email in the form of
// NormalizeEmail) and returns the field errors of its values: invalid_email,
// invalid_username, invalid_phone, or required when no field is set.
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
