package crm

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHostname: what a company's domain may be (lower-cased before).
func TestHostname(t *testing.T) {
	for d, want := range map[string]bool{
		"example.com": true, "a.b.example.co.uk": true, "xn--bcher-kva.example": true, "1password.com": true, "my-shop.example": true,
		"": false, "localhost": false, "10.0.0.1": false, "example..com": false, ".example.com": false, "example.com.": false,
		"-a.example": false, "a-.example": false, "a_b.example": false, "exa mple.com": false, "https://example.com": false,
		"example.com/path": false, "ex@mple.com": false, strings.Repeat("a", 64) + ".example": false,
		strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com": false,
	} {
		if got := hostname(d); got != want {
			t.Errorf("hostname(%q) = %v; want %v", d, got, want)
		}
	}
}

// TestBaseURL: https anywhere, http only on a loopback host.
func TestBaseURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://crm.example": true, "https://crm.example:8443/rest/": true, "http://localhost:3000": true, "http://127.0.0.1": true,
		"http://[::1]:3000/api": true, "http://crm.example": false, "http://10.0.0.1": false, "ftp://crm.example": false,
		"https://user:pw@crm.example": false, "https://crm.example/?a=b": false, "https://crm.example/#x": false, "crm.example": false,
		"https://": false, "": false, "https://" + strings.Repeat("a", 2000) + ".example": false,
	} {
		if got := baseURL(u); got != want {
			t.Errorf("baseURL(%q) = %v; want %v", u, got, want)
		}
	}
}

// FuzzCheckObject: whatever the body, checkObject either refuses it or
// returns a compact JSON object of at most MaxJSON bytes.
func FuzzCheckObject(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `[]`, `null`, `"x"`, `{`, `{"a": {"b": [1, 2e300]}}`, ` { } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fs, out := checkObject(nil, "f", raw)
		if len(fs) > 0 {
			return
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil || m == nil || len(out) > MaxJSON {
			t.Fatalf("checkObject(%q) = %q, not an object", raw, out)
		}
	})
}
