package web

import (
	"encoding/base64"

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
