package userimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/account"
)

// Record is one user of an import file, as read: Line is where it starts,
// Unknown the names of the fields userd does not know.
type Record struct {
	Line    int
	User    account.Imported
	Roles   []string
	Unknown []string
}

// Fields are the names of the fields (JSON keys, CSV columns) an import
// file may have.
var Fields = []string{"legacy_id", "email", "username", "phone_number", "auth_user_id", "password_hash", "first_name", "last_name",
	"avatar_url", "country", "city", "zipcode", "language", "is_beta", "is_first_connection", "status", "email_verified_at",
	"created_at", "roles"}

// value is one field's value in a file: a JSON value or a CSV cell.
type value interface {
	text() (string, error)
	flag() (bool, error)
	list() ([]string, error)
}

// set puts the value of the field name into r; an unknown name goes to
// r.Unknown.
func set(r *Record, name string, v value) error {
	u := &r.User
	var err error
	switch name {
	case "is_beta":
		u.IsBeta, err = v.flag()
	case "is_first_connection":
		u.IsFirstConnection, err = v.flag()
	case "status":
		var s string
		s, err = v.text()
		u.Status = account.Status(strings.TrimSpace(s))
	case "email_verified_at", "created_at":
		var s string
		if s, err = v.text(); err != nil || strings.TrimSpace(s) == "" {
			break
		}
		var t time.Time
		if t, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("%s is not an RFC 3339 time", name)
		}
		if name == "created_at" {
			u.CreatedAt = t.UTC()
		} else {
			u.EmailVerifiedAt = &t
		}
	case "roles":
		r.Roles, err = v.list()
	default:
		p := textField(u, name)
		if p == nil {
			r.Unknown = append(r.Unknown, name)
			return nil
		}
		*p, err = v.text()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// textField returns where the text field name of u is, or nil.
func textField(u *account.Imported, name string) *string {
	switch name {
	case "legacy_id":
		return &u.LegacyID
	case "email":
		return &u.Email
	case "username":
		return &u.Username
	case "phone_number":
		return &u.PhoneNumber
	case "auth_user_id":
		return &u.AuthUserID
	case "password_hash":
		return &u.PasswordHash
	case "first_name":
		return &u.FirstName
	case "last_name":
		return &u.LastName
	case "avatar_url":
		return &u.AvatarURL
	case "country":
		return &u.Country
	case "city":
		return &u.City
	case "zipcode":
		return &u.Zipcode
	case "language":
		return &u.Language
	}
	return nil
}

// jsonValue is a field's value in a JSON line.
type jsonValue json.RawMessage

func (v jsonValue) text() (string, error) {
	var s *string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errors.New("not a string")
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

func (v jsonValue) flag() (bool, error) {
	var b *bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, errors.New("not a boolean")
	}
	return b != nil && *b, nil
}

func (v jsonValue) list() ([]string, error) {
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, errors.New("not a list of strings")
	}
	return l, nil
}

// csvValue is a field's value in a CSV cell.
type csvValue string

func (v csvValue) text() (string, error) { return string(v), nil }

func (v csvValue) flag() (bool, error) {
	if strings.TrimSpace(string(v)) == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(string(v)))
	if err != nil {
		return false, errors.New("not true or false")
	}
	return b, nil
}

// list splits a cell at ';' or '|'.
func (v csvValue) list() ([]string, error) {
	var l []string
	for _, s := range strings.FieldsFunc(string(v), func(r rune) bool { return r == ';' || r == '|' }) {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l, nil
}

// errMalformed is a record that could not be read.
var errMalformed = errors.New("malformed_record")

// reader returns a function that yields records until io.EOF: JSON lines
// when the first character is '{', CSV with a header otherwise. A record it
// could not read comes with an error that wraps errMalformed. A field left
// out keeps its default: is_first_connection true, status active.
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
		return jsonReader(br), nil
	}
	return csvReader(br)
}

func fresh(line int) Record {
	return Record{Line: line, User: account.Imported{IsFirstConnection: true}}
}

func jsonReader(br *bufio.Reader) func() (Record, error) {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	return func() (Record, error) {
		for sc.Scan() {
			line++
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			if rec, ok := quick(sc.Bytes(), line); ok {
				return rec, nil
			}
			rec := fresh(line)
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
				return rec, fmt.Errorf("%w: not a JSON object", errMalformed)
			}
			for _, name := range sortedKeys(fields) {
				if err := set(&rec, name, jsonValue(fields[name])); err != nil {
					return rec, fmt.Errorf("%w: %w", errMalformed, err)
				}
			}
			return rec, nil
		}
		if err := sc.Err(); err != nil {
			return Record{Line: line + 1}, fmt.Errorf("read import file: %w", err)
		}
		return Record{}, io.EOF
	}
}

// known is a JSON line of known fields, each of its type.
type known struct {
	LegacyID          string   `json:"legacy_id"`
	Email             string   `json:"email"`
	Username          string   `json:"username"`
	PhoneNumber       string   `json:"phone_number"`
	AuthUserID        string   `json:"auth_user_id"`
	PasswordHash      string   `json:"password_hash"`
	FirstName         string   `json:"first_name"`
	LastName          string   `json:"last_name"`
	AvatarURL         string   `json:"avatar_url"`
	Country           string   `json:"country"`
	City              string   `json:"city"`
	Zipcode           string   `json:"zipcode"`
	Language          string   `json:"language"`
	IsBeta            bool     `json:"is_beta"`
	IsFirstConnection *bool    `json:"is_first_connection"`
	Status            string   `json:"status"`
	EmailVerifiedAt   string   `json:"email_verified_at"`
	CreatedAt         string   `json:"created_at"`
	Roles             []string `json:"roles"`
}

// quick reads a JSON line whose fields are all known and of their types:
// the common case, in one decoding. It reports false for any other line,
// which the field-by-field path reads and explains.
func quick(b []byte, line int) (Record, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var k known
	if dec.Decode(&k) != nil || dec.More() {
		return Record{}, false
	}
	rec := fresh(line)
	u := &rec.User
	u.LegacyID, u.Email, u.Username, u.PhoneNumber, u.AuthUserID, u.PasswordHash = k.LegacyID, k.Email, k.Username, k.PhoneNumber, k.AuthUserID, k.PasswordHash
	u.FirstName, u.LastName, u.AvatarURL, u.Country, u.City, u.Zipcode, u.Language = k.FirstName, k.LastName, k.AvatarURL, k.Country, k.City, k.Zipcode, k.Language
	u.IsBeta, u.Status, rec.Roles = k.IsBeta, account.Status(strings.TrimSpace(k.Status)), k.Roles
	if k.IsFirstConnection != nil {
		u.IsFirstConnection = *k.IsFirstConnection
	}
	for _, t := range []struct {
		name, v string
	}{{"email_verified_at", k.EmailVerifiedAt}, {"created_at", k.CreatedAt}} {
		if t.v != "" && set(&rec, t.name, csvValue(t.v)) != nil {
			return Record{}, false
		}
	}
	return rec, true
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func csvReader(br *bufio.Reader) (func() (Record, error), error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	header = slices.Clone(header)
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	return func() (Record, error) {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		line := csvLine(cr, err)
		rec := fresh(line)
		if err != nil || len(row) != len(header) {
			return rec, fmt.Errorf("%w: not a CSV row of %d cells", errMalformed, len(header))
		}
		for i, h := range header {
			if err := set(&rec, h, csvValue(row[i])); err != nil {
				return rec, fmt.Errorf("%w: %w", errMalformed, err)
			}
		}
		return rec, nil
	}, nil
}

// csvLine returns the line of the row that cr read last with err.
func csvLine(cr *csv.Reader, err error) int {
	if perr := (*csv.ParseError)(nil); errors.As(err, &perr) {
		return perr.StartLine
	}
	if err != nil {
		return 0
	}
	line, _ := cr.FieldPos(0)
	return line
}
