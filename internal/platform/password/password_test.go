package password

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, 2)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not argon2id PHC with the configured params", enc)
	}
	if ok, rehash, err := h.Verify(ctx, enc, "correct horse"); !ok || rehash || err != nil {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, enc, "correct horsf"); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	// The same password under stronger params asks for a rehash.
	if ok, rehash, _ := New(Params{Memory: 128, Time: 1, Threads: 1}, 1).Verify(ctx, enc, "correct horse"); !ok || !rehash {
		t.Fatalf("Verify with other params = %v, rehash %v; want true, true", ok, rehash)
	}
}

// TestForeignHashes verifies hashes that other tools wrote: the argon2
// reference CLI, Apache's htpasswd and Openwall's crypt_blowfish vectors.
func TestForeignHashes(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, 1)
	tests := []struct {
		name, hash, pw string
		match          bool
		err            error
	}{
		{"argon2i reference vector", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "password", true, nil},
		{"argon2id reference CLI", "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "password", true, nil},
		{"argon2id wrong password", "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "passwore", false, nil},
		{"htpasswd $2y$", "$2y$05$WKEpfI/VvI2WWftY/ccob.6ZVowMSFgHBSUpUfiPlqrPROhN9XFKi", "correct horse", true, nil},
		{"openwall $2a$", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true, nil},
		{"openwall as $2b$", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true, nil},
		{"bcrypt wrong password", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*V", false, nil},
		{"django bcrypt$", "bcrypt$$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true, nil},
		{"django bcrypt_sha256$", "bcrypt_sha256$$2b$05$N2EiOjsKWUQsa9wN9HmO2OIlDiMx12fjPdt/6NQnJa/4YKh.WV.R2", "correct horse", true, nil},
		{"django bcrypt_sha256$ wrong", "bcrypt_sha256$$2b$05$N2EiOjsKWUQsa9wN9HmO2OIlDiMx12fjPdt/6NQnJa/4YKh.WV.R2", "correct horsf", false, nil},
		{"django argon2$", "argon2$$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "password", true, nil},
		{"django unknown scheme", "pbkdf2_sha256$600000$salt$hash", "password", false, ErrUnsupported},
		{"$2x$ refused", "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", false, ErrUnsupported},
		{"bcrypt cost too high", "$2a$20$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", false, ErrUnsupported},
		{"argon2 memory too high", "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "password", false, ErrUnsupported},
		{"argon2 old version", "$argon2id$v=16$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "password", false, ErrUnsupported},
		{"plain text", "password", "password", false, ErrUnsupported},
		{"empty", "", "", false, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.hash, tt.pw)
			if ok != tt.match || !errors.Is(err, tt.err) {
				t.Fatalf("Verify = %v, %v; want %v, %v", ok, err, tt.match, tt.err)
			}
			if ok && !rehash {
				t.Fatal("a foreign hash must ask for a rehash")
			}
		})
	}
}

// TestHasherConcurrent: eight goroutines hash and verify at once through two
// slots; every hash must verify for its own password only.
func TestHasherConcurrent(t *testing.T) {
	ctx := context.Background()
	h := New(Params{Memory: 256, Time: 1, Threads: 1}, 2)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pw := fmt.Sprintf("password %d", i)
			enc, err := h.Hash(ctx, pw)
			if err != nil {
				t.Error(err)
				return
			}
			if ok, rehash, err := h.Verify(ctx, enc, pw); !ok || rehash || err != nil {
				t.Errorf("goroutine %d: Verify(own) = %v, %v, %v", i, ok, rehash, err)
			}
			if ok, _, _ := h.Verify(ctx, enc, pw+"!"); ok {
				t.Errorf("goroutine %d: a wrong password matched", i)
			}
		})
	}
	wg.Wait()
}

func TestBcryptLongPasswordNotTruncated(t *testing.T) {
	// bcrypt ignores bytes past 72: a longer password must not match the
	// hash of its first 72 bytes.
	long := strings.Repeat("a", 72)
	h := New(cheap, 1)
	// $2y$ hash of 72 × "a" made by htpasswd -nbB -C 5.
	const hash = "$2y$05$FQmHoF5KjqD6JHRrX9nQjO9jyXDA5NhWv3HytEHxDATZCPzUY.gm6"
	if ok, _, err := h.Verify(context.Background(), hash, long); !ok || err != nil {
		t.Fatalf("the 72-byte password did not match: %v", err)
	}
	if ok, _, _ := h.Verify(context.Background(), hash, long+"b"); ok {
		t.Fatal("a 73-byte password matched")
	}
}

func TestSlotsBoundConcurrency(t *testing.T) {
	h := New(cheap, 1)
	<-h.slots // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with no free slot and a dead context = %v; want context.Canceled", err)
	}
}

func TestRecognize(t *testing.T) {
	for hash, want := range map[string]bool{
		"$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk":        true,
		"argon2$$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk": true,
		"$2y$05$WKEpfI/VvI2WWftY/ccob.6ZVowMSFgHBSUpUfiPlqrPROhN9XFKi":                                 true,
		"bcrypt$$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW":                          true,
		"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW":                                 false,
		"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk":    false,
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW":                                 false,
		"md5$abc":            false,
		"":                   false,
		"bcrypt_sha256$$2b$": false,
	} {
		if got := Recognize(hash); got != want {
			t.Errorf("Recognize(%q) = %v; want %v", hash, got, want)
		}
	}
}

// TestDummyCostsAVerification: the dummy is a well-formed argon2id hash with
// the Hasher's own parameters (so verifying against it runs argon2id with
// them), which nothing matches and which needs no rehash.
func TestDummyCostsAVerification(t *testing.T) {
	h := New(cheap, 1)
	if !strings.HasPrefix(h.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("dummy %q is not argon2id with the configured params", h.dummy)
	}
	for _, pw := range []string{"", "correct horse", h.dummy} {
		match, rehash, err := h.Verify(context.Background(), h.dummy, pw)
		if match || rehash || err != nil {
			t.Fatalf("dummy against %q = %v, %v, %v", pw, match, rehash, err)
		}
	}
	if New(cheap, 1).dummy == h.dummy {
		t.Fatal("two Hashers share a dummy")
	}
}

// TestLoad: with its one slot taken, a Hasher counts one running and each
// caller that waits as queued, and none once they are done.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, 1)
	if r, q := h.Load(); r != 0 || q != 0 {
		t.Fatalf("Load at rest = %d, %d", r, q)
	}
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := h.Hash(ctx, "correct horse"); err != nil {
				t.Error(err)
			}
		})
	}
	for {
		r, q := h.Load()
		if q == 2 {
			if r != 1 {
				t.Fatalf("running = %d with the one slot taken", r)
			}
			break
		}
		runtime.Gosched()
	}
	h.release()
	wg.Wait()
	if r, q := h.Load(); r != 0 || q != 0 {
		t.Fatalf("Load after = %d, %d", r, q)
	}
}
