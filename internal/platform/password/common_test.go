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
	if n := len(common()); n != 100_000 {
		t.Fatalf("the list has %d entries; want 100000", n)
	}
}
