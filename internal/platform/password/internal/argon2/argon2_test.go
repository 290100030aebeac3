package argon2

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestIDKeyMatchesUpstream derives keys in reused memory, with parameters
// that round the memory and with several lanes, and checks each against
// golang.org/x/crypto/argon2's IDKey.
func TestIDKeyMatchesUpstream(t *testing.T) {
	for _, p := range []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32},
		{2, 64, 1, 32},
		{3, 67, 1, 16},  // rounded down to 64 blocks
		{2, 256, 4, 64}, // four lanes
		{1, 30, 4, 32},  // rounded up to the minimum of 32 blocks
		{2, 19 * 1024, 1, 32},
	} {
		t.Run(fmt.Sprintf("t=%d,m=%d,p=%d", p.time, p.memory, p.threads), func(t *testing.T) {
			m := NewMemory(p.memory, p.threads)
			for i, pw := range []string{"correct horse battery staple", "", "correct horse battery staple", "Tr0ub4dor&3"} {
				salt := []byte(fmt.Sprintf("salt-%016d", i))
				want := upstream.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
				got := m.IDKey([]byte(pw), salt, p.time, p.keyLen)
				if !bytes.Equal(got, want) {
					t.Fatalf("hash %d of %q: %x, upstream %x", i, pw, got, want)
				}
				for j, b := range m.blocks {
					if b != (block{}) {
						t.Fatalf("hash %d left block %d of the memory non-zero", i, j)
					}
				}
			}
		})
	}
}

// TestMemoriesInParallel runs hashes in separate memories at once (as the
// password package does, one memory per core), under the race detector too.
func TestMemoriesInParallel(t *testing.T) {
	salt := []byte("0123456789abcdef")
	want := upstream.IDKey([]byte("pw"), salt, 1, 1024, 1, 32)
	var wg sync.WaitGroup
	for range 4 {
		m := NewMemory(1024, 1)
		wg.Go(func() {
			for range 5 {
				if got := m.IDKey([]byte("pw"), salt, 1, 32); !bytes.Equal(got, want) {
					t.Errorf("got %x, want %x", got, want)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkIDKey compares a hash at OWASP's minimum (19 MiB, t=2, p=1) in
// reused memory with upstream's, which allocates the memory every time.
// With -cpu 2 the hashes run two at a time, as on a 2-core server.
func BenchmarkIDKey(b *testing.B) {
	salt := []byte("0123456789abcdef")
	b.Run("reused", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			m := NewMemory(19*1024, 1)
			for pb.Next() {
				m.IDKey([]byte("pw"), salt, 2, 32)
			}
		})
	})
	b.Run("upstream", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				upstream.IDKey([]byte("pw"), salt, 2, 19*1024, 1, 32)
			}
		})
	})
}
