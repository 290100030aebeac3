package vault_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// revealed is one vault.credential_revealed entry of the trail.
type revealed struct {
	userID, keyID string
	meta          map[string]any
}

// reveals lists the trail's vault.credential_revealed entries, oldest first.
func reveals(t *testing.T, db *sqldb.DB) []revealed {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT user_id, actor_api_key_id, metadata FROM activity_logs WHERE action = 'vault.credential_revealed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []revealed
	for rows.Next() {
		var user, key sql.NullString
		var meta string
		if err := rows.Scan(&user, &key, &meta); err != nil {
			t.Fatal(err)
		}
		r := revealed{userID: user.String, keyID: key.String}
		if err := json.Unmarshal([]byte(meta), &r.meta); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRevealFor: an application's key or an administrator holding
// vault:reveal reads a user's secret without the owner's recent log-in;
// each read is one entry in the owner's trail naming the key, or the person
// as revealed_by_user_id; a caller without the permission changes nothing
// and leaves no entry; another user's account, a malformed or unknown user
// and a missing credential are not found.
func TestRevealFor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring, err := seal.NewKeyring(bytes.Repeat([]byte{5}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		s := vault.NewService(db, ring, func(userd.Actor) error { return errStale }) // the owner's rule, never asked here
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		c := userd.Client{IP: "192.0.2.7", UserAgent: "app"}
		acct, err := s.CreateAccount(ctx, ann, "Broker")
		if err != nil {
			t.Fatal(err)
		}
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		if _, err := s.PutCredential(ctx, ann, c, acct.ID, "api_key", "sk-live-123456", &exp); err != nil {
			t.Fatal(err)
		}
		bobs, err := s.CreateAccount(ctx, bob, "Other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutCredential(ctx, bob, c, bobs.ID, "api_key", "sk-bob-999999", nil); err != nil {
			t.Fatal(err)
		}

		keyID := userd.NewID(time.Now())
		key := userd.Actor{APIKeyID: keyID, Grants: userd.Grants{Permissions: []string{vault.RevealPermission}}}
		cred, secret, err := s.RevealFor(ctx, key, c, ann.UserID, acct.ID, "api_key")
		if err != nil || secret != "sk-live-123456" || cred.ExpiresAt == nil || !cred.ExpiresAt.Equal(exp) {
			t.Fatalf("a key's reveal = %+v %q, %v", cred, secret, err)
		}
		got := reveals(t, db)
		if len(got) != 1 || got[0].userID != ann.UserID || got[0].keyID != keyID || got[0].meta["account_id"] != acct.ID ||
			got[0].meta["credential_type"] != "api_key" || got[0].meta["revealed_by_user_id"] != nil {
			t.Fatalf("the trail after a key's reveal = %+v", got)
		}

		// A person (an administrator's session): named in the metadata.
		adm := userd.Actor{UserID: bob.UserID, SessionID: userd.NewID(time.Now()), Grants: userd.Grants{Admin: true}}
		if _, secret, err := s.RevealFor(ctx, adm, c, ann.UserID, acct.ID, "api_key"); err != nil || secret != "sk-live-123456" {
			t.Fatalf("an administrator's reveal = %q, %v", secret, err)
		}
		got = reveals(t, db)
		if len(got) != 2 || got[1].userID != ann.UserID || got[1].keyID != "" || got[1].meta["revealed_by_user_id"] != bob.UserID {
			t.Fatalf("the trail after an administrator's reveal = %+v", got)
		}

		// Refusals change nothing and leave no entry.
		weak := userd.Actor{APIKeyID: userd.NewID(time.Now()), Grants: userd.Grants{Permissions: []string{"users:read"}}}
		for name, try := range map[string]struct {
			by                 userd.Actor
			user, account, typ string
			want               error
		}{
			"no vault:reveal":          {weak, ann.UserID, acct.ID, "api_key", vault.ErrRevealForbidden},
			"the owner without it":     {ann, ann.UserID, acct.ID, "api_key", vault.ErrRevealForbidden},
			"bob's account under ann":  {key, ann.UserID, bobs.ID, "api_key", vault.ErrAccountNotFound},
			"ann's account under bob":  {key, bob.UserID, acct.ID, "api_key", vault.ErrAccountNotFound},
			"a malformed user id":      {key, "not-an-id", acct.ID, "api_key", vault.ErrAccountNotFound},
			"an unknown user":          {key, userd.NewID(time.Now()), acct.ID, "api_key", vault.ErrAccountNotFound},
			"a malformed account id":   {key, ann.UserID, "not-an-id", "api_key", vault.ErrAccountNotFound},
			"a type the account lacks": {key, ann.UserID, acct.ID, "etp_token", vault.ErrCredentialNotFound},
		} {
			if _, secret, err := s.RevealFor(ctx, try.by, c, try.user, try.account, try.typ); !errors.Is(err, try.want) || secret != "" {
				t.Errorf("%s = %q, %v; want %v", name, secret, err, try.want)
			}
		}
		if got := reveals(t, db); len(got) != 2 {
			t.Fatalf("%d reveal entries after the refusals; want 2", len(got))
		}
		if got := actions(t, db, bob.UserID); len(got) != 1 { // bob's own credential saved, nothing read
			t.Fatalf("bob's trail = %v", got)
		}
	})
}
