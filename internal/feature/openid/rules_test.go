package openid

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirectURIs: what registration accepts as a redirect URI.
func TestRedirectURIs(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb?tenant=a", true},
		{"http://localhost:3000/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]:8080/cb", true},
		{"com.example.app:/callback", true},
		{"http://app.example/cb", false},
		{"https://app.example/cb#frag", false},
		{"https://*.example/cb", false},
		{"/relative/cb", false},
		{"https:///nohost", false},
		{"", false},
	} {
		if got := len(checkURIs("redirect_uris", []string{tc.uri})) == 0; got != tc.ok {
			t.Errorf("%q: accepted %v, want %v", tc.uri, got, tc.ok)
		}
	}
}

// TestIssInAnswers: iss is added to a redirect that carries a code or an
// error, and to nothing else.
func TestIssInAnswers(t *testing.T) {
	const issuer = "https://id.example"
	for _, tc := range []struct{ loc, want string }{
		{"https://app.example/cb?code=c&state=s", "https://app.example/cb?code=c&iss=https%3A%2F%2Fid.example&state=s"},
		{"https://app.example/cb?error=login_required&state=s", "https://app.example/cb?error=login_required&iss=https%3A%2F%2Fid.example&state=s"},
		{"https://id.example/oauth2/login?id=x", "https://id.example/oauth2/login?id=x"},
		{"https://app.example/cb?code=c&iss=other", "https://app.example/cb?code=c&iss=other"},
	} {
		rec := httptest.NewRecorder()
		w := withIss(rec, issuer)
		w.Header().Set("Location", tc.loc)
		w.WriteHeader(http.StatusFound)
		if got := rec.Header().Get("Location"); got != tc.want {
			t.Errorf("%s: Location %s, want %s", tc.loc, got, tc.want)
		}
	}
}
