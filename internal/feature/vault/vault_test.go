package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var errStale = userd.Errorf(userd.KindForbidden, "reauthentication_required", "stale")

// actions lists the audit trail's actions of a user, oldest first.
func actions(t *testing.T, db *sqldb.DB, userID string) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT action FROM activity_logs WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

// TestVaultRules: the vault's rules hold in the service itself: names,
// types and secrets checked, another user's account not found, a reveal
// only after a recent log-in, every change and reveal audited, and the
// secret stored sealed.
func TestVaultRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring, err := seal.NewKeyring(bytes.Repeat([]byte{9}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		fresh := true
		s := vault.NewService(db, ring, func(userd.Actor) error {
			if fresh {
				return nil
			}
			return errStale
		})
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		c := userd.Client{IP: "192.0.2.1", UserAgent: "test"}
		if _, err := s.CreateAccount(ctx, ann, ""); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("an empty name = %v", err)
		}
		acct, err := s.CreateAccount(ctx, ann, "Broker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Account(ctx, bob, acct.ID); !errors.Is(err, vault.ErrAccountNotFound) {
			t.Fatalf("bob reading ann's account = %v", err)
		}
		if _, err := s.Account(ctx, ann, "not-an-id"); !errors.Is(err, vault.ErrAccountNotFound) {
			t.Fatalf("a malformed id = %v", err)
		}
		if _, err := s.PutCredential(ctx, ann, c, acct.ID, "Bad Type", "x", nil); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("a bad type = %v", err)
		}
		if _, err := s.PutCredential(ctx, bob, c, acct.ID, "api_key", "sk-live-123456", nil); !errors.Is(err, vault.ErrAccountNotFound) {
			t.Fatalf("bob writing into ann's account = %v", err)
		}
		cred, err := s.PutCredential(ctx, ann, c, acct.ID, "api_key", "sk-live-123456", nil)
		if err != nil || cred.Hint != "••••3456" {
			t.Fatalf("put = %+v, %v", cred, err)
		}
		var stored []byte
		db.SQL().QueryRow(`SELECT secret FROM user_credentials WHERE id = $1`, cred.ID).Scan(&stored)
		if len(stored) == 0 || bytes.Contains(stored, []byte("sk-live-123456")) {
			t.Fatal("the secret is stored in clear")
		}
		fresh = false
		if _, _, err := s.Reveal(ctx, ann, c, acct.ID, "api_key"); !errors.Is(err, errStale) {
			t.Fatalf("a reveal without a recent log-in = %v", err)
		}
		fresh = true
		if _, secret, err := s.Reveal(ctx, ann, c, acct.ID, "api_key"); err != nil || secret != "sk-live-123456" {
			t.Fatalf("reveal = %q, %v", secret, err)
		}
		if err := s.DeleteCredential(ctx, ann, c, acct.ID, "api_key"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Credential(ctx, ann, acct.ID, "api_key"); !errors.Is(err, vault.ErrCredentialNotFound) {
			t.Fatalf("a deleted credential = %v", err)
		}
		want := []string{"vault.credential_saved", "vault.credential_revealed", "vault.credential_deleted"}
		if got := actions(t, db, ann.UserID); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("audited %v; want %v", got, want)
		}
	})
}
