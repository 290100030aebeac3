package web_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// race fires two creations at once, the ith with body(i), and returns their
// answers.
func race(c *client, path, token string, body func(i int) map[string]any) [2]response {
	var out [2]response
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range out {
		wg.Go(func() {
			<-start
			out[i] = c.do("POST", path, body(i), token)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// checkCapRace checks that of two creations racing at one below the cap,
// exactly one is created and the other gets 409 code, and that the user has
// exactly max rows of table.
func checkCapRace(t *testing.T, c *client, got [2]response, code, table, userID string, max int) {
	t.Helper()
	created, refused := 0, 0
	for _, r := range got {
		switch {
		case r.Status == 201:
			created++
		case r.Status == 409 && r.code() == code:
			refused++
		default:
			t.Errorf("create = %d %s", r.Status, r.Raw)
		}
	}
	if created != 1 || refused != 1 {
		t.Errorf("created %d, refused %d; want 1 and 1", created, refused)
	}
	var n int
	if err := c.db.SQL().QueryRow(`SELECT count(*) FROM `+table+` WHERE user_id = $1`, userID).Scan(&n); err != nil || n != max {
		t.Fatalf("%s = %d, %v; want %d", table, n, err, max)
	}
}

// creator creates the ith row of a capped table for a user.
type creator func(ctx context.Context, tx *sqldb.Tx, userID string, i int) error

func createAccount(ctx context.Context, tx *sqldb.Tx, userID string, i int) error {
	_, err := vault.CreateAccount(ctx, tx, userID, "account "+strconv.Itoa(i))
	return err
}

func createSync(ctx context.Context, tx *sqldb.Tx, userID string, i int) error {
	service, account := "TopstepTrader", "TS-"+strconv.Itoa(i)
	_, err := synchronization.Create(ctx, tx, nil, userID, synchronization.Patch{Service: &service, AccountID: &account})
	return err
}

// credentials returns a creator of credentials, all on one account that
// its first call makes.
func credentials(ring *seal.Keyring) creator {
	var accountID string
	return func(ctx context.Context, tx *sqldb.Tx, userID string, i int) error {
		if accountID == "" {
			a, err := vault.CreateAccount(ctx, tx, userID, "keys")
			if err != nil {
				return err
			}
			accountID = a.ID
		}
		_, err := vault.PutCredential(ctx, tx, ring, userID, accountID, "key_"+strconv.Itoa(i), "secret", nil)
		return err
	}
}

// fill runs create for i from 0 to n-1 in one transaction of the user's.
func fill(t *testing.T, c *client, userID string, n int, create creator) {
	t.Helper()
	ctx := sqldb.AsUser(context.Background(), userID)
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for i := range n {
			if err := create(ctx, tx, userID, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCapAccountsRace: at vault.MaxAccounts-1 accounts, two concurrent
// creations make one account and get one 409 too_many_accounts; another
// user is not held back.
func TestCapAccountsRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		fill(t, c, annID, vault.MaxAccounts-1, createAccount)
		got := race(c, "/v1/me/accounts", ann, func(i int) map[string]any {
			return map[string]any{"account_name": "race " + strconv.Itoa(i)}
		})
		checkCapRace(t, c, got, "too_many_accounts", "user_accounts", annID, vault.MaxAccounts)
		if r := c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "bob's"}, bob); r.Status != 201 {
			t.Errorf("another user's create = %d %s", r.Status, r.Raw)
		}
	})
}

// TestCapSynchronizationsRace: at synchronization.MaxPerUser-1
// synchronizations, two concurrent creations make one synchronization and
// get one 409 too_many_synchronizations.
func TestCapSynchronizationsRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		fill(t, c, annID, synchronization.MaxPerUser-1, createSync)
		got := race(c, "/v1/me/synchronizations", ann, func(i int) map[string]any {
			return map[string]any{"service": "TopstepTrader", "account_id": "race-" + strconv.Itoa(i)}
		})
		checkCapRace(t, c, got, "too_many_synchronizations", "synchronizations", annID, synchronization.MaxPerUser)
	})
}

// TestCapWaitsForLock: at one below the cap, a creation whose transaction
// is still open makes a second creation wait (on PostgreSQL for the lock on
// the user's row, on SQLite for the one writer) instead of counting beside
// the uncommitted row; once the first commits, the second is refused.
func TestCapWaitsForLock(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		caps := []struct {
			name    string
			max     int
			create  creator
			tooMany error
		}{
			{"accounts", vault.MaxAccounts, createAccount, vault.ErrTooManyAccounts},
			{"synchronizations", synchronization.MaxPerUser, createSync, synchronization.ErrTooMany},
			{"credentials", vault.MaxCredentials, credentials(testKeyring), vault.ErrTooManyCredentials},
		}
		for _, tt := range caps {
			t.Run(tt.name, func(t *testing.T) {
				userID, _ := c.signup(map[string]any{"email": tt.name + "@example.com"})
				ctx := sqldb.AsUser(context.Background(), userID)
				fill(t, c, userID, tt.max-1, tt.create)
				held, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
				go func() {
					first <- c.db.Tx(ctx, func(tx *sqldb.Tx) error {
						if err := tt.create(ctx, tx, userID, tt.max); err != nil {
							return err
						}
						close(held)
						<-release
						return nil
					})
				}()
				select {
				case <-held:
				case err := <-first:
					t.Fatalf("first creation: %v", err)
				}
				second := make(chan error, 1)
				go func() {
					second <- c.db.Tx(ctx, func(tx *sqldb.Tx) error { return tt.create(ctx, tx, userID, tt.max+1) })
				}()
				select {
				case err := <-second:
					second <- err
					t.Errorf("second creation ended (%v) while the first was not committed", err)
				case <-time.After(300 * time.Millisecond):
				}
				close(release)
				if err := <-first; err != nil {
					t.Fatalf("first creation: %v", err)
				}
				if err := <-second; !errors.Is(err, tt.tooMany) {
					t.Errorf("second creation: %v; want %v", err, tt.tooMany)
				}
			})
		}
	})
}
