package account

import (
	"math/rand/v2"
	"net/mail"
	"strings"
	"testing"
)

// TestEmailRules checks each rule of an email: the form it is stored in, or
// the message of the invalid_email field error that refuses it.
func TestEmailRules(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string       // the stored form, when accepted
		problem emailProblem // the refusal, when refused
	}{
		{name: "ascii", in: "alice@example.com", want: "alice@example.com"},
		{name: "ascii trimmed and lower-cased", in: "  Alice@Example.COM ", want: "alice@example.com"},
		{name: "ascii signs", in: "o'brien.x+tag_1-2@mail.example.co.uk", want: "o'brien.x+tag_1-2@mail.example.co.uk"},
		{name: "ascii underscore domain", in: "a@my_host.example.com", want: "a@my_host.example.com"},
		{name: "fullwidth local part", in: "ａｌｉｃｅ@example.com", want: "alice@example.com"},
		{name: "fullwidth everything", in: "ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ", want: "alice@example.com"},
		{name: "all Cyrillic", in: "иван@пример.рф", want: "иван@xn--e1afmkfd.xn--p1ai"},
		{name: "all Cyrillic upper case", in: "ИВАН@ПРИМЕР.РФ", want: "иван@xn--e1afmkfd.xn--p1ai"},
		{name: "all Cyrillic punycode", in: "иван@XN--E1AFMKFD.xn--p1ai", want: "иван@xn--e1afmkfd.xn--p1ai"},
		{name: "Latin with diacritics", in: "Müller@Bücher.de", want: "müller@xn--bcher-kva.de"},
		{name: "Greek local part, Latin domain", in: "μαρία@example.gr", want: "μαρία@example.gr"},
		{name: "Japanese mix", in: "たなか太郎@example.jp", want: "たなか太郎@example.jp"},
		{name: "Cyrillic a in Latin local part", in: "аlice@example.com", problem: errEmailScript},
		{name: "Greek alpha in Latin local part", in: "αlice@example.com", problem: errEmailScript},
		{name: "Cyrillic a in Latin domain", in: "alice@exаmple.com", problem: errEmailScript},
		{name: "mixed domain as punycode", in: "alice@xn--exmple-4nf.com", problem: errEmailScript},
		{name: "zero-width space", in: "al\u200bice@example.com", problem: errEmailInvisible},
		{name: "zero-width joiner", in: "alice\u200d@example.com", problem: errEmailInvisible},
		{name: "soft hyphen in local part", in: "al\u00adice@example.com", problem: errEmailInvisible},
		{name: "soft hyphen in domain", in: "alice@exam\u00adple.com", problem: errEmailInvisible},
		{name: "bidi override", in: "\u202eecila@example.com", problem: errEmailInvisible},
		{name: "bidi isolate", in: "alice\u2066@example.com", problem: errEmailInvisible},
		{name: "variation selector", in: "alice\ufe0f@example.com", problem: errEmailInvisible},
		{name: "C0 control", in: "ali\x07ce@example.com", problem: errEmailInvisible},
		{name: "C0 control in domain", in: "alice@exam\x00ple.com", problem: errEmailInvisible},
		{name: "DEL", in: "ali\x7fce@example.com", problem: errEmailInvisible},
		{name: "C1 control", in: "ali\u0085ce@example.com", problem: errEmailInvisible},
		{name: "IPv4 literal", in: "a@[127.0.0.1]", problem: errEmailIP},
		{name: "IPv6 literal", in: "a@[IPv6:::1]", problem: errEmailIP},
		{name: "bare IPv4", in: "a@127.0.0.1", problem: errEmailIP},
		{name: "short IPv4", in: "a@127.1", problem: errEmailIP},
		{name: "fullwidth IPv4", in: "a@１２７.０.０.１", problem: errEmailIP},
		{name: "emoji domain", in: "a@\U0001f4a9.la", problem: errEmailDomain},
		{name: "bad punycode", in: "a@xn--abc.com", problem: errEmailDomain},
		{name: "emoji local part", in: "\U0001f4a9@example.com", problem: errEmailShape},
		{name: "right-to-left breaking the Bidi Rule", in: "1שלום@example.com", problem: errEmailShape},
		{name: "space inside", in: "a b@example.com", problem: errEmailShape},
		{name: "no at", in: "alice", problem: errEmailShape},
		{name: "no dot in domain", in: "alice@localhost", problem: errEmailShape},
		{name: "empty local part", in: "@example.com", problem: errEmailShape},
		{name: "two dots", in: "a..b@example.com", problem: errEmailShape},
		{name: "too long", in: strings.Repeat("a", 250) + "@example.com", problem: errEmailShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := Identity{Email: tt.in}
			fe := id.Check()
			if tt.problem == "" {
				if len(fe) != 0 || id.Email != tt.want || NormalizeEmail(tt.in) != tt.want {
					t.Fatalf("Check(%q) = %q, %v; NormalizeEmail = %q; want %q accepted", tt.in, id.Email, fe, NormalizeEmail(tt.in), tt.want)
				}
				return
			}
			if len(fe) != 1 || fe[0].Field != "email" || fe[0].Code != "invalid_email" || fe[0].Message != string(tt.problem) {
				t.Fatalf("Check(%q) = %v; want invalid_email %q", tt.in, fe, tt.problem)
			}
		})
	}
}

// TestNormalizeEmailRefusedNeverMatches: an email that Check refuses
// normalises to a form that no accepted email has, so a look-alike finds no
// user; the same form fails the check again, as Patch.Check relies on.
func TestNormalizeEmailRefusedNeverMatches(t *testing.T) {
	for _, in := range []string{"аlice@example.com", "al\u200bice@example.com", "alice@exam\u00adple.com", "alice@exаmple.com", "a@[127.0.0.1]"} {
		n := NormalizeEmail(in)
		if n == "alice@example.com" || n == "a@127.0.0.1" {
			t.Errorf("NormalizeEmail(%q) = %q: a look-alike matches", in, n)
		}
		if fe := checkEmail(nil, n); len(fe) != 1 {
			t.Errorf("checkEmail(%q) = %v; want refused", n, fe)
		}
	}
}

// TestPatchEmailRules: an administrator's change of email follows the same
// rules: a look-alike is refused, a fullwidth spelling is normalised.
func TestPatchEmailRules(t *testing.T) {
	lookAlike, fullwidth := "аlice@example.com", "ａｌｉｃｅ@Example.com"
	p := Patch{Email: &lookAlike}
	if fe := p.Check(); len(fe) != 1 || fe[0].Code != "invalid_email" || fe[0].Message != string(errEmailScript) {
		t.Errorf("Check(%q) = %v; want invalid_email", lookAlike, fe)
	}
	p = Patch{Email: &fullwidth}
	if fe := p.Check(); len(fe) != 0 || *p.Email != "alice@example.com" {
		t.Errorf("Check(%q) = %q, %v; want alice@example.com", "ａｌｉｃｅ@Example.com", *p.Email, fe)
	}
}

// TestEmailASCIIUnchanged: for random ASCII emails, the rules before
// internationalisation (net/mail, at most 254 bytes, a dot in the domain,
// lower-cased) and these agree, except where these refuse on purpose: an
// IP address for a domain and punycode labels, which are not ASCII names.
func TestEmailASCIIUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet string, min, max int) string {
		b := make([]byte, min+rng.IntN(max-min+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 20000 {
		in := pick("abcXYZ019.-_+!#'", 0, 8) + "@" + pick("anxXYZ019-_", 0, 6) + pick(".", 0, 1) + pick("anxXYZ019-_", 0, 6)
		if rng.IntN(4) == 0 { // noise
			i := rng.IntN(len(in))
			in = in[:i] + pick("@[]:\" .()<>,;\t", 1, 1) + in[i+1:]
		}
		before := strings.ToLower(strings.TrimSpace(in))
		id := Identity{Email: in}
		validNow := len(id.Check()) == 0 && id.Email == before
		if validBefore(before) != validNow && !(validBefore(before) && refusedOnPurpose(before)) {
			t.Fatalf("%q: valid before %v, now %v (%v)", in, validBefore(before), validNow, id.Check())
		}
	}
}

// validBefore is the rule of an email before internationalisation.
func validBefore(email string) bool {
	addr, err := mail.ParseAddress(email)
	return email != "" && err == nil && addr.Address == email && len(email) <= 254 && strings.Contains(email[strings.LastIndexByte(email, '@'):], ".")
}

func refusedOnPurpose(email string) bool {
	domain := email[strings.LastIndexByte(email, '@')+1:]
	return ipDomain(domain) || strings.Contains(domain, "xn--")
}
