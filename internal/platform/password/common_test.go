package password

import "testing"

func TestIsCommon(t *testing.T) {
	for _, pw := range []string{"password", "PASSWORD", "12345678", "iloveyou", "qwertyuiop", "password1"} {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false", pw)
		}
	}
	for _, pw := range []string{"correct horse battery", "zq8#Lr2!vKw0", ""} {
		if IsCommon(pw) {
			t.Errorf("IsCommon(%q) = true", pw)
		}
	}
	l := common()
	if n := l.len(); n != 100_000 {
		t.Fatalf("the list has %d entries; want 100000", n)
	}
	// Every word is found, and only once in order: the list is sorted as
	// the search compares.
	for i := range l.len() {
		if w := l.word(i); w == "" || !l.has(w) || (i > 0 && l.word(i-1) >= w) {
			t.Fatalf("word %d %q: out of order or not found", i, w)
		}
	}
}
