package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func enqueue(t *testing.T, db *sqldb.DB, n int, at time.Time) {
	t.Helper()
	ctx := sqldb.System(context.Background())
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		for i := range n {
			if err := jobs.Enqueue(ctx, tx, "count", fmt.Sprintf("job-%d", i), map[string]int{"i": i}, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEachJobRunsOnce: two runners over separate connections to one
// database (two userd processes) drain 60 jobs; each runs exactly once.
func TestEachJobRunsOnce(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			var a, b *sqldb.DB
			ctx := context.Background()
			if engine == "sqlite" {
				path := dbtest.SQLitePath(t)
				a, b = openAt(t, engine, path), openAt(t, engine, path)
			} else {
				url := dbtest.NewPostgresURL(t, true)
				a, b = openAt(t, engine, url), openAt(t, engine, url)
			}
			const n = 60
			enqueue(t, a, n, time.Now().Add(-time.Second))
			var mu sync.Mutex
			runs := map[string]int{}
			handler := func(_ context.Context, j jobs.Job) (time.Time, error) {
				mu.Lock()
				runs[j.Key]++
				mu.Unlock()
				return time.Time{}, nil
			}
			var wg sync.WaitGroup
			counts := make([]int, 2)
			for i, db := range []*sqldb.DB{a, b} {
				r := jobs.NewRunner(db, quiet)
				r.Handle("count", handler)
				wg.Go(func() {
					var err error
					counts[i], err = r.RunDue(ctx)
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if len(runs) != n || counts[0]+counts[1] != n {
				t.Fatalf("%d distinct jobs ran, runners counted %v; want %d", len(runs), counts, n)
			}
			for k, c := range runs {
				if c != 1 {
					t.Fatalf("%s ran %d times", k, c)
				}
			}
			var pending int
			a.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE done_at IS NULL`).Scan(&pending)
			if pending != 0 {
				t.Fatalf("%d jobs still pending", pending)
			}
		})
	}
}

// TestJobsSurviveRestartAndRetry: a job enqueued before a restart runs
// after it; a failing job retries later, then succeeds; a recurring job
// moves on.
func TestJobsSurviveRestartAndRetry(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			where := dbtest.SQLitePath(t)
			if engine == "postgres" {
				where = dbtest.NewPostgresURL(t, true)
			}
			db := openAt(t, engine, where)
			enqueue(t, db, 1, time.Now().Add(-time.Second))
			db.Close()

			db = openAt(t, engine, where)
			offset := time.Duration(0)
			db.SetClock(func() time.Time { return time.Now().Add(offset) })
			r := jobs.NewRunner(db, quiet)
			calls := 0
			r.Handle("count", func(_ context.Context, j jobs.Job) (time.Time, error) {
				calls++
				switch calls {
				case 1:
					return time.Time{}, fmt.Errorf("upstream down")
				case 2:
					if j.Attempts != 2 {
						t.Errorf("attempt %d; want 2", j.Attempts)
					}
					return time.Now().Add(offset + time.Hour), nil // recurring: next in an hour
				}
				return time.Time{}, nil
			})
			ctx := context.Background()
			if n, _ := r.RunDue(ctx); n != 1 || calls != 1 {
				t.Fatalf("first pass ran %d, handler called %d", n, calls)
			}
			if n, _ := r.RunDue(ctx); n != 0 {
				t.Fatalf("a failed job ran again before its backoff: %d", n)
			}
			offset = 15 * time.Second
			if n, _ := r.RunDue(ctx); n != 1 || calls != 2 {
				t.Fatalf("after the backoff ran %d, handler called %d", n, calls)
			}
			offset = 2 * time.Hour
			if n, _ := r.RunDue(ctx); n != 1 || calls != 3 {
				t.Fatalf("the recurring run ran %d, handler called %d", n, calls)
			}
			var done int
			db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE done_at IS NOT NULL AND last_error IS NULL`).Scan(&done)
			if done != 1 {
				t.Fatalf("finished jobs = %d; want 1", done)
			}
		})
	}
}

func openAt(t *testing.T, engine, where string) *sqldb.DB {
	t.Helper()
	db, err := dbtest.OpenAt(context.Background(), engine, where)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRunnersTakeTheirKindsWithTheirLeases: a runner claims only the kinds
// it has handlers for; a job held by a runner that stopped (a killed
// process) is claimed again once that runner's own lease, not the default
// one, has expired; Wake makes Run look before its next poll.
func TestRunnersTakeTheirKindsWithTheirLeases(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		offset := time.Duration(0)
		var mu sync.Mutex
		db.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) })
		ctx := sqldb.System(context.Background())
		add := func(kind, key string) {
			t.Helper()
			if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return jobs.Enqueue(ctx, tx, kind, key, nil, tx.Now) }); err != nil {
				t.Fatal(err)
			}
		}
		add("mail", "m1")
		add("other", "o1")

		// A runner of mail with a one-minute lease dies in its handler.
		dead := jobs.NewRunner(db, quiet)
		dead.SetLease(time.Minute)
		stop, stopped := make(chan struct{}), make(chan struct{})
		dead.Handle("mail", func(context.Context, jobs.Job) (time.Time, error) { close(stopped); <-stop; return time.Time{}, nil })
		go dead.RunDue(context.Background())
		<-stopped
		defer close(stop)

		var ran []string
		other := jobs.NewRunner(db, quiet)
		other.Handle("other", func(_ context.Context, j jobs.Job) (time.Time, error) {
			ran = append(ran, j.Key)
			return time.Time{}, nil
		})
		if n, err := other.RunDue(ctx); n != 1 || err != nil || len(ran) != 1 || ran[0] != "o1" {
			t.Fatalf("the other runner ran %d (%v), %v; want o1 alone", n, ran, err)
		}
		mail := jobs.NewRunner(db, quiet)
		mail.Handle("mail", func(_ context.Context, j jobs.Job) (time.Time, error) {
			ran = append(ran, j.Key)
			return time.Time{}, nil
		})
		mu.Lock()
		offset = 50 * time.Second
		mu.Unlock()
		if n, _ := mail.RunDue(ctx); n != 0 {
			t.Fatalf("a mail job was claimed again within its lease: %d", n)
		}
		mu.Lock()
		offset = 61 * time.Second // past the dead runner's lease, not past jobs.DefaultLease
		mu.Unlock()
		if n, err := mail.RunDue(ctx); n != 1 || err != nil || ran[1] != "m1" {
			t.Fatalf("after the lease ran %d (%v), %v; want m1", n, ran, err)
		}

		// Wake: Run looks at once rather than at its next poll (1 s).
		got := make(chan time.Time, 1)
		woken := jobs.NewRunner(db, quiet)
		woken.Handle("woken", func(context.Context, jobs.Job) (time.Time, error) { got <- time.Now(); return time.Time{}, nil })
		rctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go woken.Run(rctx, time.Second)
		time.Sleep(100 * time.Millisecond) // past Run's first look
		add("woken", "w1")
		at := time.Now()
		woken.Wake()
		select {
		case ran := <-got:
			if d := ran.Sub(at); d > 700*time.Millisecond {
				t.Fatalf("woken job ran %v after Wake; want well before the 1 s poll", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the woken job never ran")
		}
	})
}

// TestRunEndsGracefully: when Run's context ends, the job in hand finishes
// within the grace and is done; a job that outlasts the grace sees its
// context end and is released, its attempt not counted, so that another
// runner runs it at once. Run returns only once the job in hand has ended.
func TestRunEndsGracefully(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			where := dbtest.SQLitePath(t)
			if engine == "postgres" {
				where = dbtest.NewPostgresURL(t, true)
			}
			db := openAt(t, engine, where)
			for _, c := range []struct {
				name     string
				finishes bool // within the grace
			}{{"finishes", true}, {"outlasts", false}} {
				t.Run(c.name, func(t *testing.T) {
					db.SQL().Exec(`DELETE FROM jobs`)
					enqueue(t, db, 1, time.Now().Add(-time.Second))
					started, ended := make(chan struct{}), make(chan error, 1)
					r := jobs.NewRunner(db, quiet)
					r.Handle("count", func(ctx context.Context, _ jobs.Job) (time.Time, error) {
						close(started)
						if c.finishes {
							time.Sleep(300 * time.Millisecond) // past the end of Run's context
							return time.Time{}, nil
						}
						<-ctx.Done()
						return time.Time{}, fmt.Errorf("cut short: %w", ctx.Err())
					})
					ctx, cancel := context.WithCancel(context.Background())
					go func() { ended <- r.Run(ctx, time.Second) }()
					<-started
					cancel()
					select {
					case <-ended:
					case <-time.After(5 * time.Second):
						t.Fatal("Run did not return")
					}
					var done, locked, attempts int
					var lastError *string
					err := db.SQL().QueryRow(`SELECT count(done_at), count(locked_by), max(attempts), max(last_error) FROM jobs`).
						Scan(&done, &locked, &attempts, &lastError)
					if err != nil {
						t.Fatal(err)
					}
					if c.finishes {
						if done != 1 || locked != 0 || lastError != nil {
							t.Fatalf("done %d, locked %d, last error %v; want the job done", done, locked, lastError)
						}
						return
					}
					if done != 0 || locked != 0 || attempts != 0 || lastError != nil {
						t.Fatalf("done %d, locked %d, attempts %d, last error %v; want the job released, its attempt not counted",
							done, locked, attempts, lastError)
					}
					other := jobs.NewRunner(db, quiet)
					other.Handle("count", func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, nil })
					if n, err := other.RunDue(context.Background()); n != 1 || err != nil {
						t.Fatalf("another runner ran %d, %v; want the released job at once", n, err)
					}
				})
			}
		})
	}
}
