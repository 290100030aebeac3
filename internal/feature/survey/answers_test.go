package survey

import (
	"encoding/json"
	"testing"

	"github.com/userd/userd"
)

// FuzzCheckAnswers: whatever JSON a client sends as answers, checkAnswers
// neither panics nor accepts what it would refuse once stored: the answers
// it keeps pass again, unchanged, after a round trip through JSON, and every
// refusal lists its questions' fields.
func FuzzCheckAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"color":"red","stars":3}`,
		`{"color":"green","pets":["dog","cat"],"why":"ok","stars":5,"age":2.5}`,
		`{"color":"pink","pets":["cat","cat"],"why":"x","stars":2.5,"age":-1}`,
		`{"color":null,"pets":[],"why":"  ","stars":1e300,"age":1e16}`,
		`{"unknown":1,"a b":[1,{"x":2}]}`,
	} {
		f.Add(seed)
	}
	one := 1.0
	qs := []Question{
		{ID: "color", Type: SingleChoice, Label: "C", Required: true, Options: []string{"red", "green"}},
		{ID: "pets", Type: MultipleChoice, Label: "P", Options: []string{"cat", "dog"}},
		{ID: "why", Type: Text, Label: "W", MaxLength: 5},
		{ID: "stars", Type: Rating, Label: "S", Required: true},
		{ID: "age", Type: Number, Label: "A", Min: &one},
	}
	f.Fuzz(func(t *testing.T, body string) {
		var given map[string]any
		if json.Unmarshal([]byte(body), &given) != nil {
			return
		}
		stored, err := checkAnswers(qs, given)
		if err != nil {
			e := userd.ErrorOf(err)
			if e == nil || e.Kind != userd.KindInvalid || len(e.Fields) == 0 || len(e.Fields) > maxErrors {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		data, err := json.Marshal(stored)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		again, err := checkAnswers(qs, back)
		if err != nil {
			t.Fatalf("stored %s: checked again: %v", data, err)
		}
		if twice, _ := json.Marshal(again); string(twice) != string(data) {
			t.Fatalf("stored %s, then %s", data, twice)
		}
	})
}
