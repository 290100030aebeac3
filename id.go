package userd

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// idSeq makes the ids of one millisecond increase within this process
// (RFC 9562, method 1: rand_a as a counter that starts at a random value).
var idSeq struct {
	sync.Mutex
	ms  int64
	seq uint16
}

// NewID returns a new UUIDv7 (RFC 9562) in its canonical lower-case text form:
// 48 bits of Unix milliseconds from now, a 12-bit counter that makes ids of
// the same millisecond increase in this process, then random bits; so ids
// sort by creation time, and the ids one transaction makes sort in the order
// it made them.
func NewID(now time.Time) string {
	var u [16]byte
	ms := now.UnixMilli()
	rand.Read(u[6:]) // never fails: crypto/rand panics rather than return an error
	idSeq.Lock()
	if ms == idSeq.ms && idSeq.seq < 0xfff {
		idSeq.seq++
	} else {
		idSeq.ms, idSeq.seq = ms, binary.BigEndian.Uint16(u[6:8])&0x7ff
	}
	seq := idSeq.seq
	idSeq.Unlock()
	binary.BigEndian.PutUint64(u[0:8], uint64(ms)<<16|uint64(seq))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ParseID reports whether s is a UUID in canonical text form (any version,
// either case) and returns it in lower case. Ids from outside are checked
// with it before they reach a query.
func ParseID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}
