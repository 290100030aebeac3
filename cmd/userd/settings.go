package main

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/web"
)

// hidden stands for a secret on the console's settings page.
const hidden = "(hidden)"

// secretFlag matches the names of flags whose value is a secret: those
// whose last word names one (--webhook-secret; not --master-key-file, a
// path, nor --access-token-ttl, a duration).
var secretFlag = regexp.MustCompile(`(^|-)(secret|password|passphrase|credentials?|key|token)$`)

// secretParam matches the names of a URL's query parameters that may hold
// a secret (PostgreSQL's password and sslpassword, a token, a key).
var secretParam = regexp.MustCompile(`(?i)pass|secret|token|key`)

// shownFlags returns the flags of fs as the console shows them, by name:
// each with its effective value, secrets hidden (see shown), and whether it
// was given on the command line or in the environment (parse sets both).
func shownFlags(fs *flag.FlagSet) []web.Flag {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var out []web.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if _, former := formerNames[f.Name]; former {
			return // the flag of its new name shows the value
		}
		out = append(out, web.Flag{Name: f.Name, Value: shown(f.Name, f.Value.String()), Given: given[f.Name]})
	})
	return out
}

// shown returns a flag's value without its secrets: a secret flag's value
// hidden whole, the client secret of each --oidc-provider, and what
// redactURL hides of URLs (--database-url, --smtp-url).
func shown(name, value string) string {
	switch {
	case value == "":
		return ""
	case secretFlag.MatchString(name):
		return hidden
	case name == "oidc-provider": // NAME,ISSUER_URL,CLIENT_ID,CLIENT_SECRET each, space-separated
		providers := strings.Fields(value)
		for i, p := range providers {
			if f := strings.Split(p, ","); len(f) > 3 {
				providers[i] = strings.Join(append(f[:3], hidden), ",")
			}
		}
		return strings.Join(providers, " ")
	}
	if shownURL, ok := redactURL(name, value); ok {
		return shownURL
	}
	if !strings.Contains(value, "://") {
		return value
	}
	// A list of URLs (--allowed-redirects), each shown as a URL is; one that
	// does not read may still hold a password.
	parts := strings.Split(value, ",")
	for i, p := range parts {
		var ok bool
		if parts[i], ok = redactURL(name, strings.TrimSpace(p)); !ok {
			return hidden
		}
	}
	return strings.Join(parts, ",")
}

// redactURL returns an absolute URL without its password and the values of
// its query parameters that may be secrets; for --webhook-url, whose path
// may be the secret, without its path either. It reports whether value is
// such a URL.
func redactURL(name, value string) (string, bool) {
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	q := u.Query()
	for k := range q {
		if secretParam.MatchString(k) {
			q.Set(k, hidden)
		}
	}
	u.RawQuery = q.Encode()
	if name == "webhook-url" && u.Path != "" && u.Path != "/" {
		u.Path, u.RawPath = "/"+hidden, ""
	}
	return u.Redacted(), true
}

// describe says what the console may show of the master key that keyring
// read (see keyring): its id, where it came from, when its file was written,
// and how many former keys open what they sealed.
func (k *keyConfig) describe(dataDir string, ring *seal.Keyring) web.MasterKey {
	out := web.MasterKey{ID: ring.PrimaryID(), Old: len(k.old)}
	path := k.file
	switch {
	case os.Getenv("USERD_MASTER_KEY") != "":
		out.Source = "the environment (USERD_MASTER_KEY)"
		return out
	case path == "":
		path = filepath.Join(dataDir, "master.key")
	}
	out.Source = path
	if st, err := os.Stat(path); err == nil {
		out.Written = st.ModTime().UTC()
	}
	return out
}
