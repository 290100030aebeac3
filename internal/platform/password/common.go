package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sort"
	"strings"
	"sync"
)

// commonGz is the 100,000 most common passwords of at least 8 characters
// from the OWASP SecLists "10 million password list" (top 1M), lower-cased
// and sorted. Licensed CC BY-SA 3.0; see NOTICE.
//
//go:embed common.txt.gz
var commonGz []byte

// wordList is a sorted list of words held as one string and the offsets
// where its words start: two objects for the collector, not one a word,
// so that a list of 100,000 words costs the collections nothing to mark.
type wordList struct {
	text  string   // the words, each ended by a newline
	start []uint32 // where each word starts in text
}

// len returns the number of words.
func (l wordList) len() int { return len(l.start) }

// word returns the i-th word.
func (l wordList) word(i int) string {
	end := len(l.text)
	if i+1 < len(l.start) {
		end = int(l.start[i+1])
	}
	return l.text[l.start[i] : end-1]
}

// has reports whether w is on the list.
func (l wordList) has(w string) bool {
	i := sort.Search(l.len(), func(i int) bool { return l.word(i) >= w })
	return i < l.len() && l.word(i) == w
}

var common = sync.OnceValue(func() wordList {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic(err) // the embedded file is fixed at build time
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	text := strings.TrimRight(string(raw), "\n") + "\n"
	l := wordList{text: text, start: make([]uint32, 0, 100_000)}
	for at := 0; at < len(text); {
		l.start = append(l.start, uint32(at))
		at += strings.IndexByte(text[at:], '\n') + 1
	}
	return l
})

// IsCommon reports whether pw, ignoring case, is on the list of common
// passwords that ships with userd.
func IsCommon(pw string) bool { return common().has(strings.ToLower(pw)) }
