package userimport

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReaders feeds the users and follows readers any file: they end, and
// every record they yield is either read or refused as malformed.
func FuzzReaders(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@example.com","roles":["ADMIN"],"is_beta":true,"created_at":"2020-01-02T03:04:05Z"}`,
		"{\"email\":1}\n{}\n\n{\"x\":null}",
		"email,roles,is_beta\na@example.com,ADMIN;END_USER,true\nbad\n",
		"follower,following\na,b\n",
		`{"follower":"a","following":"b"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if next, err := reader(strings.NewReader(s)); err == nil {
			for range 10_000 {
				rec, err := next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil && !errors.Is(err, errMalformed) && !strings.HasPrefix(err.Error(), "read import file") {
					t.Fatalf("record %+v: %v", rec, err)
				}
			}
		}
		if next, err := followReader(strings.NewReader(s)); err == nil {
			for range 10_000 {
				f, err := next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err == nil && (f.Follower == "" || f.Following == "") {
					t.Fatalf("follow %+v without a side", f)
				}
			}
		}
	})
}
