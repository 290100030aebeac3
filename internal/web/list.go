package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/danielgtaylor/huma/v2"

	"github.com/userd/userd"
)

// errBadCursor answers a cursor that userd did not make.
var errBadCursor = userd.Errorf(userd.KindMalformed, "invalid_cursor", "The cursor is not one this list gave out.")

// encodeCursor and decodeCursor make a list position opaque: the id of the
// last item of a page, which keyset pagination continues after.
func encodeCursor(id string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(id))
	return &c
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", errBadCursor
	}
	id, ok := userd.ParseID(string(b))
	if !ok {
		return "", errBadCursor
	}
	return id, nil
}

// Paging is the query of every list.
type Paging struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"Items per page."`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page."`
}

// pageOf trims a list fetched with limit+1 items to limit, and returns the
// cursor of the next page when there is one.
func pageOf[T any](items []T, limit int, id func(T) string) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	return items[:limit], encodeCursor(id(items[limit-1]))
}

// mapAll returns each of items as out makes it (an empty list, not nil,
// for none: a list answer is [], never null).
func mapAll[T, O any](items []T, out func(T) O) []O {
	outs := make([]O, 0, len(items))
	for _, it := range items {
		outs = append(outs, out(it))
	}
	return outs
}

// mapPage is pageOf with each item of the page as out makes it.
func mapPage[T, O any](items []T, limit int, id func(T) string, out func(T) O) ([]O, *string) {
	items, next := pageOf(items, limit, id)
	return mapAll(items, out), next
}

// encodedPage, embedded in a list answer's body, makes the body encode as
// the page it holds, encoded once by encodePage: a remembered page then
// costs no encoding per request. The body's own Items and NextCursor
// fields describe the answer in the OpenAPI document.
type encodedPage struct{ json []byte }

// MarshalJSON returns the encoded page.
func (p encodedPage) MarshalJSON() ([]byte, error) { return p.json, nil }

// encoded returns the encoded page, for jsonFormat to write as it is.
func (p encodedPage) encoded() []byte { return p.json }

// jsonFormat is huma's JSON format, except that a body holding an
// encodedPage is written as it is. Through MarshalJSON, encoding/json would
// check and compact every byte of the page again: 41% of the CPU of serving
// a remembered page of notifications.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		if p, ok := v.(interface{ encoded() []byte }); ok {
			_, err := w.Write(p.encoded())
			return err
		}
		return huma.DefaultJSONFormat.Marshal(w, v)
	},
	Unmarshal: huma.DefaultJSONFormat.Unmarshal,
}

// encodePage encodes a list fetched with limit+1 items as a list answer:
// the first limit items, each as out makes it, and the next page's cursor.
func encodePage[T, O any](items []T, limit int, id func(T) string, out func(T) O) (encodedPage, error) {
	var body struct {
		Items      []O     `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	body.Items, body.NextCursor = mapPage(items, limit, id, out)
	return encodeBody(body)
}

// encodeBody encodes an answer's body once, as huma encodes every other
// body, for an answer to serve again.
func encodeBody(body any) (encodedPage, error) {
	var b bytes.Buffer
	if err := huma.DefaultJSONFormat.Marshal(&b, body); err != nil {
		return encodedPage{}, fmt.Errorf("encode answer: %w", err)
	}
	return encodedPage{b.Bytes()}, nil
}
