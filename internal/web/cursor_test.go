package web

import "testing"

func TestCursorRoundTrip(t *testing.T) {
	id := "01934a5b-6c7d-7abc-8def-0123456789ab"
	got, err := decodeCursor(*encodeCursor(id))
	if err != nil || got != id {
		t.Fatalf("decodeCursor(encodeCursor(%s)) = %q, %v", id, got, err)
	}
	for _, bad := range []string{"!!", "aGVsbG8", "MDE5MzRhNWItNmM3ZC03YWJjLThkZWYtMDEyMzQ1Njc4OWF"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

func BenchmarkCursor(b *testing.B) {
	id := "01934a5b-6c7d-7abc-8def-0123456789ab"
	for b.Loop() {
		if _, err := decodeCursor(*encodeCursor(id)); err != nil {
			b.Fatal(err)
		}
	}
}
