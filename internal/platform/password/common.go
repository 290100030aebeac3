package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// commonGz is the 100,000 most common passwords of at least 8 characters
// from the OWASP SecLists "10 million password list" (top 1M), lower-cased
// and sorted. Licensed CC BY-SA 3.0; see NOTICE.
//
//go:embed common.txt.gz
var commonGz []byte

var common = sync.OnceValue(func() []string {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic(err) // the embedded file is fixed at build time
	}
	list := make([]string, 0, 100_000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		list = append(list, sc.Text())
	}
	return list
})

// IsCommon reports whether pw, ignoring case, is on the list of common
// passwords that ships with userd.
func IsCommon(pw string) bool {
	_, found := slices.BinarySearch(common(), strings.ToLower(pw))
	return found
}
