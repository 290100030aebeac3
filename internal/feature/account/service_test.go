package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func ptr[T any](v T) *T { return &v }

// insert makes a user with the given fields, as the system.
func insert(t *testing.T, db *sqldb.DB, n account.New) userd.Actor {
	t.Helper()
	ctx := sqldb.System(context.Background())
	var u account.User
	err := db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
		u, err = account.Insert(ctx, tx, n)
		return err
	})
	if err != nil {
		t.Fatalf("insert %+v: %v", n, err)
	}
	return userd.Actor{UserID: u.ID}
}

// row returns every column of a user's row, one line, as stored.
func row(t *testing.T, db *sqldb.DB, id string) string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT * FROM users WHERE id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("no user %s", id)
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, c := range cols {
		fmt.Fprintf(&b, "%s=%v ", c, vals[i])
	}
	return b.String()
}

// fields returns the field and code of each field error of a KindInvalid
// error, and fails for any other error or a field error without a message.
func fields(t *testing.T, err error) []string {
	t.Helper()
	e := userd.ErrorOf(err)
	if e == nil || e.Kind != userd.KindInvalid || e.Code != "validation_failed" {
		t.Fatalf("err = %v; want a KindInvalid validation_failed error", err)
	}
	var out []string
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("field error %s/%s has no message", f.Field, f.Code)
		}
		out = append(out, f.Field+"/"+f.Code)
	}
	return out
}

// TestAccountUpdateRefused: a patch with bad fields is refused with the
// field error of each, in the patch's order of checks, and changes nothing
// of the row; so is one that would leave the user without an identifier,
// and one whose username another user has in any case (ErrUsernameTaken).
func TestAccountUpdateRefused(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ann := insert(t, db, account.New{Identity: account.Identity{Email: "ann@example.com", Username: "ann_k"}, Profile: account.Profile{FirstName: "Ann", City: "Lyon"}})
		insert(t, db, account.New{Identity: account.Identity{Username: "bob_1"}})
		solo := insert(t, db, account.New{Identity: account.Identity{Username: "solo"}})
		s := account.NewService(db)
		as := func(a userd.Actor) context.Context { return userd.WithActor(context.Background(), a) }
		long := strings.Repeat("x", 101)
		for _, tt := range []struct {
			name  string
			who   userd.Actor
			patch account.Patch
			want  []string // field/code, or the error's code
		}{
			{"username with a space", ann, account.Patch{Username: ptr("a b")}, []string{"username/invalid_username"}},
			{"username too short", ann, account.Patch{Username: ptr("ab")}, []string{"username/invalid_username"}},
			{"username too long", ann, account.Patch{Username: ptr("a" + strings.Repeat("b", 32))}, []string{"username/invalid_username"}},
			{"username starting with a dot", ann, account.Patch{Username: ptr(".ann")}, []string{"username/invalid_username"}},
			{"avatar not http", ann, account.Patch{AvatarURL: ptr("ftp://x")}, []string{"avatar_url/invalid_url"}},
			{"avatar javascript", ann, account.Patch{AvatarURL: ptr("javascript:alert(1)")}, []string{"avatar_url/invalid_url"}},
			{"avatar without host", ann, account.Patch{AvatarURL: ptr("https://")}, []string{"avatar_url/invalid_url"}},
			{"language not a tag", ann, account.Patch{Language: ptr("not a tag")}, []string{"language/invalid_language"}},
			{"first name of 101 characters", ann, account.Patch{FirstName: ptr(long)}, []string{"first_name/invalid_text"}},
			{"last name of 101 characters", ann, account.Patch{LastName: ptr(long)}, []string{"last_name/invalid_text"}},
			{"city with a control character", ann, account.Patch{City: ptr("Ly\x07on")}, []string{"city/invalid_text"}},
			{"zipcode of 21 characters", ann, account.Patch{Zipcode: ptr(strings.Repeat("9", 21))}, []string{"zipcode/invalid_text"}},
			{"country not UTF-8", ann, account.Patch{Country: ptr("Fr\xffance")}, []string{"country/invalid_text"}},
			{"email not an email", ann, account.Patch{Email: ptr("not-an-email")}, []string{"email/invalid_email"}},
			{"phone not E.164", ann, account.Patch{PhoneNumber: ptr("0612345678")}, []string{"phone_number/invalid_phone"}},
			{"status unknown", ann, account.Patch{Status: ptr(account.Status("asleep"))}, []string{"status/invalid_status"}},
			{"several, with good ones", ann, account.Patch{Username: ptr("a b"), FirstName: ptr("Annie"), AvatarURL: ptr("ftp://x"), Language: ptr("??")},
				[]string{"username/invalid_username", "avatar_url/invalid_url", "language/invalid_language"}},
			{"the last identifier cleared", solo, account.Patch{Username: ptr("")}, []string{"email/required"}},
			{"username taken", ann, account.Patch{Username: ptr("bob_1")}, []string{"username_taken"}},
			{"username taken in another case", ann, account.Patch{Username: ptr("BOB_1"), FirstName: ptr("Annie")}, []string{"username_taken"}},
			{"username taken, padded", ann, account.Patch{Username: ptr("  Bob_1 ")}, []string{"username_taken"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := row(t, db, tt.who.UserID)
				u, err := s.Update(as(tt.who), tt.who, tt.patch)
				var got []string
				if tt.want[0] == "username_taken" {
					if !errors.Is(err, account.ErrUsernameTaken) {
						t.Fatalf("Update = %v; want ErrUsernameTaken", err)
					}
					e := userd.ErrorOf(err)
					got = []string{e.Code}
					if e.Kind != userd.KindConflict || len(e.Fields) != 1 || e.Fields[0].Field != "username" || e.Fields[0].Code != "taken" {
						t.Fatalf("ErrUsernameTaken = %+v; want a conflict naming the username field", e)
					}
				} else {
					got = fields(t, err)
				}
				if !cmp.Equal(got, tt.want) {
					t.Fatalf("Update refused with %v; want %v", got, tt.want)
				}
				if u.ID != "" {
					t.Fatalf("a refused Update returned the user %+v", u)
				}
				if diff := cmp.Diff(before, row(t, db, tt.who.UserID)); diff != "" {
					t.Fatalf("a refused Update changed the row (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// TestAccountUpdate: Self reads the actor's user; a good patch is
// normalised (trimmed, the language tag made canonical, "" clearing an
// optional field and giving the default language), applied in full, stamped
// with the transaction's time, and what Update returns is what Self reads
// next; taking back one's own username in another case is no conflict.
func TestAccountUpdate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ann := insert(t, db, account.New{Identity: account.Identity{Email: "ann@example.com", Username: "ann_k"},
			Profile: account.Profile{FirstName: "Ann", LastName: "Lee", City: "Lyon", Language: "fr"}})
		ctx, s := userd.WithActor(context.Background(), ann), account.NewService(db)
		before, err := s.Self(ctx, ann)
		if err != nil {
			t.Fatal(err)
		}
		if before.ID != ann.UserID || *before.Email != "ann@example.com" || *before.Username != "ann_k" || *before.FirstName != "Ann" ||
			*before.City != "Lyon" || before.Language != "fr" || !before.IsFirstConnection || before.IsBeta || before.Status != account.StatusActive ||
			before.PhoneNumber != nil || before.AvatarURL != nil || before.EmailVerifiedAt != nil {
			t.Fatalf("Self = %+v", before)
		}
		now := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
		db.SetClock(func() time.Time { return now })
		defer db.SetClock(time.Now)
		u, err := s.Update(ctx, ann, account.Patch{FirstName: ptr("  Annie "), City: ptr(""), Language: ptr("pt-br"), IsFirstConnection: ptr(false),
			Username: ptr(" annie "), AvatarURL: ptr("https://img.example.com/a.png"), Zipcode: ptr("69001"), Country: ptr("France")})
		if err != nil {
			t.Fatal(err)
		}
		want := before
		want.FirstName, want.City, want.Language, want.IsFirstConnection = ptr("Annie"), nil, "pt-BR", false
		want.Username, want.AvatarURL, want.Zipcode, want.Country = ptr("annie"), ptr("https://img.example.com/a.png"), ptr("69001"), ptr("France")
		want.UpdatedAt = now
		if diff := cmp.Diff(want, u); diff != "" {
			t.Fatalf("Update returned (-want +got):\n%s", diff)
		}
		if self, err := s.Self(ctx, ann); err != nil || !cmp.Equal(self, u) {
			t.Fatalf("Self after Update = %+v, %v; want %+v", self, err, u)
		}
		// "" gives back the default language; one's own username in
		// another case is no conflict.
		u, err = s.Update(ctx, ann, account.Patch{Language: ptr(""), Username: ptr("ANNIE")})
		if err != nil || u.Language != "en" || *u.Username != "ANNIE" {
			t.Fatalf("Update = %+v, %v; want language en and username ANNIE", u, err)
		}
		if _, err := s.Self(ctx, userd.Actor{UserID: userd.NewID(now)}); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("Self of no user = %v; want ErrNotFound", err)
		}
	})
}

// TestAccountUsernameRace: users who take one username at the same moment,
// in rounds (two users, then four, in whatever case each spells it): in
// each, exactly one wins, every other gets ErrUsernameTaken and keeps their
// own username, and the winner alone holds it.
func TestAccountUsernameRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := account.NewService(db)
		for round, racers := range []int{2, 2, 2, 4, 4} {
			users := make([]userd.Actor, racers)
			for i := range users {
				users[i] = insert(t, db, account.New{Identity: account.Identity{Username: fmt.Sprintf("r%d_u%d", round, i)}})
			}
			name := fmt.Sprintf("prize_%d", round)
			errs := make([]error, racers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, a := range users {
				spelling := name
				if i%2 == 1 {
					spelling = strings.ToUpper(name)
				}
				wg.Go(func() {
					<-start
					_, errs[i] = s.Update(userd.WithActor(context.Background(), a), a, account.Patch{Username: &spelling})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("round %d: users %d and %d both took %s", round, winner, i, name)
				case err == nil:
					winner = i
				case !errors.Is(err, account.ErrUsernameTaken):
					t.Fatalf("round %d: user %d: %v; want nil or ErrUsernameTaken", round, i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: nobody took %s: %v", round, name, errs)
			}
			var holders []string
			rows, err := db.SQL().Query(`SELECT id FROM users WHERE lower(username) = $1`, name)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				rows.Scan(&id)
				holders = append(holders, id)
			}
			rows.Close()
			if len(holders) != 1 || holders[0] != users[winner].UserID {
				t.Fatalf("round %d: %s is held by %v; want only the winner %s", round, name, holders, users[winner].UserID)
			}
			for i, a := range users {
				if i == winner {
					continue
				}
				if u, err := s.Self(userd.WithActor(context.Background(), a), a); err != nil || *u.Username != fmt.Sprintf("r%d_u%d", round, i) {
					t.Fatalf("round %d: loser %d now has username %v, %v", round, i, u.Username, err)
				}
			}
		}
	})
}
