package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd/internal/feature/userimport"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// Hashes that other tools wrote, for the password "correct horse".
const (
	htpasswdBcrypt = "$2y$05$WKEpfI/VvI2WWftY/ccob.6ZVowMSFgHBSUpUfiPlqrPROhN9XFKi" // htpasswd -nbB -C 5
	// argon2 reference CLI: echo -n "correct horse" | argon2 somesalt -id -t 2 -m 10 -p 1 -l 32 -e
	cliArgon2id = "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$HBMZ6iIOGeI6YFLuORlJUppB6tRx6cpAVHXXtN8Vxvw"
)

// importString imports s as a file would be.
func importString(t *testing.T, db *sqldb.DB, s string, o userimport.Options) (userimport.Summary, error) {
	t.Helper()
	return userimport.Import(context.Background(), db, strings.NewReader(s), o)
}

// countRows returns the number of rows a query counts.
func countRows(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportUsers imports JSON lines with foreign hashes and bad records;
// imported users log in with their old password and are re-hashed; a re-run
// imports nothing twice and says why.
func TestImportUsers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		jsonl := strings.Join([]string{
			`{"email":"Ann@Example.com","first_name":"Ann","password_hash":"` + htpasswdBcrypt + `"}`,
			`{"username":"bob","password_hash":"argon2$` + cliArgon2id + `"}`,
			`{"phone_number":"+33612345678"}`,
			`{"email":"not-an-email","password_hash":"` + htpasswdBcrypt + `"}`,
			`{"email":"md5@example.com","password_hash":"md5$x$y"}`,
			`{"email":"ANN@example.com"}`,
			`{"email":"role@example.com","roles":["NO_SUCH_ROLE"]}`,
			`{"email":"late@example.com","created_at":"yesterday"}`,
			`not json`,
			``,
		}, "\n")
		sum, err := importString(t, db, jsonl, userimport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"invalid_email (email)": 1, "unsupported_password_hash": 1, "duplicate email (of line 1)": 1,
			"unknown_role (NO_SUCH_ROLE)": 1, "malformed_record: created_at is not an RFC 3339 time": 1, "malformed_record: not a JSON object": 1}
		if sum.Read != 9 || sum.Imported != 3 || len(sum.Skipped) != len(want) {
			t.Fatalf("summary %+v", sum)
		}
		for k, v := range want {
			if sum.Skipped[k] != v {
				t.Errorf("skipped[%s] = %d; want %d (%v)", k, sum.Skipped[k], v, sum.Examples)
			}
		}
		again, err := importString(t, db, jsonl, userimport.Options{})
		if err != nil || again.Imported != 0 || again.Skipped["already_imported (email)"] != 1 || again.Skipped["already_imported (username)"] != 1 ||
			again.Skipped["already_imported (phone_number)"] != 1 {
			t.Fatalf("re-run: %+v, %v", again, err)
		}
		c := start(t, db)
		for _, id := range []string{"ann@example.com", "bob"} {
			c.login(id, "correct horse")
		}
		var hashes []string
		rows, _ := db.SQL().Query(`SELECT password_hash FROM users WHERE password_hash IS NOT NULL ORDER BY id`)
		for rows.Next() {
			var h string
			rows.Scan(&h)
			hashes = append(hashes, h)
		}
		rows.Close()
		if len(hashes) != 2 || !strings.HasPrefix(hashes[0], "$argon2id$v=19$m=64,") || !strings.HasPrefix(hashes[1], "$argon2id$v=19$m=64,") {
			t.Fatalf("hashes after log-in: %v; want both re-hashed", hashes)
		}
		// CSV, with a header.
		csv := "email,username,password_hash\ncarol@example.com,carol," + htpasswdBcrypt + "\n,dave,\nbad row\n"
		sum, err = importString(t, db, csv, userimport.Options{})
		if err != nil || sum.Imported != 2 || sum.Skipped["malformed_record: not a CSV row of 3 cells"] != 1 {
			t.Fatalf("CSV: %+v, %v", sum, err)
		}
		// One audit entry a batch, in no user's trail.
		if n := countRows(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'user.imported' AND user_id IS NULL`); n != 2 {
			t.Fatalf("%d user.imported entries; want 2 (one a batch)", n)
		}
	})
}

// fullUser is a JSON line with every field an import takes.
const fullUser = `{"legacy_id":"crm-42","email":"Full@Example.com","username":"full","phone_number":"+14155550100",` +
	`"auth_user_id":"auth0|42","password_hash":"` + htpasswdBcrypt + `","first_name":"Fu","last_name":"Ll",` +
	`"avatar_url":"https://example.com/a.png","country":"France","city":"Lyon","zipcode":"69001","language":"pt-br",` +
	`"is_beta":true,"is_first_connection":false,"status":"suspended","email_verified_at":"2021-02-03T04:05:06Z",` +
	`"created_at":"2020-01-02T03:04:05.123456Z","roles":["ADMIN"]}`

// TestImportEveryField: each field of a user, their legacy id and roles
// round-trip through JSON lines and CSV; admins find the user by legacy id
// in the search and in every route that takes a user's id.
func TestImportEveryField(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		csv := "legacy_id,email,username,phone_number,auth_user_id,password_hash,first_name,last_name,avatar_url,country,city,zipcode,language,is_beta,is_first_connection,status,email_verified_at,created_at,roles\n" +
			"crm-42,Full@Example.com,full,+14155550100,auth0|42," + htpasswdBcrypt + ",Fu,Ll,https://example.com/a.png,France,Lyon,69001,pt-br,true,false,suspended,2021-02-03T04:05:06Z,2020-01-02T03:04:05.123456Z,ADMIN;END_USER\n"
		for _, file := range []struct{ name, body string }{{"jsonl", fullUser}, {"csv", csv}} {
			if _, err := db.SQL().Exec(`DELETE FROM users`); err != nil {
				t.Fatal(err)
			}
			sum, err := importString(t, db, file.body, userimport.Options{})
			if err != nil || sum.Imported != 1 {
				t.Fatalf("%s: %+v, %v", file.name, sum, err)
			}
			c := start(t, db)
			adm := c.admin()
			r := c.do("GET", "/v1/admin/users/crm-42", nil, adm)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: GET by legacy id: %d %s", file.name, r.Status, r.Raw)
			}
			u := r.Body
			id := str(u, "id")
			want := map[string]any{"legacy_id": "crm-42", "email": "full@example.com", "username": "full", "phone_number": "+14155550100",
				"auth_user_id": "auth0|42", "first_name": "Fu", "last_name": "Ll", "avatar_url": "https://example.com/a.png", "country": "France",
				"city": "Lyon", "zipcode": "69001", "language": "pt-BR", "is_beta": true, "is_first_connection": false, "status": "suspended",
				"email_verified_at": "2021-02-03T04:05:06Z", "created_at": "2020-01-02T03:04:05.123456Z"}
			for k, v := range want {
				if u[k] != v {
					t.Errorf("%s: %s = %v; want %v", file.name, k, u[k], v)
				}
			}
			if roles := fmt.Sprint(u["roles"]); roles != "[ADMIN END_USER]" {
				t.Errorf("%s: roles %s", file.name, roles)
			}
			if !strings.HasPrefix(id, "016f6") { // a UUIDv7 of 2020-01-02
				t.Errorf("%s: id %s is not of its created_at", file.name, id)
			}
			r = c.do("GET", "/v1/admin/users?q=crm-42", nil, adm)
			if items, _ := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "id") != id {
				t.Fatalf("%s: search by legacy id: %s", file.name, r.Raw)
			}
			if r := c.do("GET", "/v1/users/crm-42", nil, ""); r.Status != http.StatusOK || str(r.Body, "id") != id {
				t.Fatalf("%s: public profile by legacy id: %d %s", file.name, r.Status, r.Raw)
			}
			if r := c.do("PATCH", "/v1/admin/users/crm-42", map[string]any{"status": "active"}, adm); r.Status != http.StatusOK || str(r.Body, "status") != "active" {
				t.Fatalf("%s: PATCH by legacy id: %d %s", file.name, r.Status, r.Raw)
			}
			c.login("full@example.com", "correct horse")
			if r := c.do("DELETE", "/v1/admin/users/crm-42", nil, adm); r.Status != http.StatusNoContent {
				t.Fatalf("%s: DELETE by legacy id: %d %s", file.name, r.Status, r.Raw)
			}
			if r := c.do("GET", "/v1/admin/users/crm-42", nil, adm); r.Status != http.StatusNotFound {
				t.Fatalf("%s: GET after delete: %d", file.name, r.Status)
			}
		}
	})
}

// TestImportUnknownFieldsAndDryRun: unknown fields refuse the file before
// anything is written, unless ignored; a dry run reports each failing line
// and writes nothing; legacy ids are unique.
func TestImportUnknownFieldsAndDryRun(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		users := func() int { return countRows(t, db, `SELECT count(*) FROM users`) }
		jsonl := `{"email":"a@example.com","is_admin":true}` + "\n" + `{"email":"b@example.com","is_admin":false,"shoe_size":44}` + "\n"
		sum, err := importString(t, db, jsonl, userimport.Options{})
		if !errors.Is(err, userimport.ErrUnknownFields) || sum.Unknown["is_admin"] != 2 || sum.Unknown["shoe_size"] != 1 || users() != 0 {
			t.Fatalf("unknown fields: %+v, %v, %d users", sum, err, users())
		}
		csv := "email,role\nc@example.com,admin\n"
		sum, err = importString(t, db, csv, userimport.Options{})
		if !errors.Is(err, userimport.ErrUnknownFields) || sum.Unknown["role"] != 1 || users() != 0 {
			t.Fatalf("unknown column: %+v, %v", sum, err)
		}
		for _, f := range []string{jsonl, csv} {
			if sum, err := importString(t, db, f, userimport.Options{IgnoreUnknown: true}); err != nil || sum.Imported == 0 {
				t.Fatalf("--ignore-unknown: %+v, %v", sum, err)
			}
		}
		if users() != 3 {
			t.Fatalf("%d users; want 3", users())
		}
		dry := strings.Join([]string{
			`{"legacy_id":"x1","email":"d@example.com"}`,
			`{"legacy_id":"x1","email":"e@example.com"}`,
			`{"email":"f@example.com","status":"sleeping"}`,
			`{"email":"g@example.com","avatar_url":"ftp://x"}`,
			`{"email":"h@example.com","language":"not a language"}`,
			`{"email":"i@example.com","is_beta":"yes"}`,
		}, "\n")
		sum, err = importString(t, db, dry, userimport.Options{DryRun: true})
		wantEx := []string{"line 2: duplicate legacy_id (of line 1)", "line 3: invalid_status (status)", "line 4: invalid_url (avatar_url)",
			"line 5: invalid_language (language)", "line 6: malformed_record: is_beta: not a boolean"}
		if err != nil || sum.Read != 6 || sum.Imported != 0 || fmt.Sprint(sum.Examples) != fmt.Sprint(wantEx) || users() != 3 {
			t.Fatalf("dry run: %+v, %v, %d users", sum, err, users())
		}
		if _, err := importString(t, db, `{"legacy_id":"x1","email":"j@example.com"}`, userimport.Options{}); err != nil {
			t.Fatal(err)
		}
		sum, err = importString(t, db, `{"legacy_id":"x1","email":"k@example.com"}`, userimport.Options{})
		if err != nil || sum.Skipped["already_imported (legacy_id)"] != 1 || countRows(t, db, `SELECT count(*) FROM users WHERE legacy_id = 'x1'`) != 1 {
			t.Fatalf("a second x1: %+v, %v", sum, err)
		}
	})
}

// TestImportRacesSignUp: a sign-up and an import of the same email at once
// end with one user, whichever wins.
func TestImportRacesSignUp(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		for i := range 5 {
			email := fmt.Sprintf("race%d@example.com", i)
			var wg sync.WaitGroup
			var sum userimport.Summary
			var err error
			var status int
			wg.Go(func() {
				sum, err = importString(t, db, `{"email":"`+email+`","legacy_id":"r`+fmt.Sprint(i)+`"}`, userimport.Options{})
			})
			wg.Go(func() {
				status = c.do("POST", "/v1/auth/signup", map[string]any{"email": email, "password": "correct horse battery"}, "").Status
			})
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, db, `SELECT count(*) FROM users WHERE email = $1`, email); n != 1 {
				t.Fatalf("%s: %d users", email, n)
			}
			if (sum.Imported == 1) == (status == http.StatusCreated) {
				t.Fatalf("%s: imported %d and sign-up %d; want exactly one", email, sum.Imported, status)
			}
		}
	})
}

// toolHashes makes hashes of "correct horse" with the machine's tools, by
// name; it skips the test when a tool is missing, naming it.
func toolHashes(t *testing.T) map[string]string {
	const pw = "correct horse"
	run := func(name string, stdin string, args ...string) string {
		t.Helper()
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s is not installed (apt-get install apache2-utils whois argon2 python3-passlib)", name)
		}
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	hashes := map[string]string{
		"htpasswd -B":      strings.TrimPrefix(run("htpasswd", "", "-nbB", "-C", "5", "u", pw), "u:"),
		"mkpasswd bcrypt":  run("mkpasswd", "", "-m", "bcrypt", "-R", "5", pw),
		"argon2 CLI (-id)": run("argon2", pw, "somesalt", "-id", "-e"),
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil || exec.Command("/usr/bin/python3", "-c", "import passlib").Run() != nil {
		t.Skip("Python passlib is not installed (apt-get install python3-passlib)")
	}
	// userd reads passlib's bcrypt_sha256 in Django's form, not in
	// passlib's own ($bcrypt-sha256$).
	for name, hasher := range map[string]string{
		"passlib bcrypt":               "bcrypt.using(rounds=5)",
		"passlib argon2":               "argon2",
		"passlib django_bcrypt_sha256": "django_bcrypt_sha256.using(rounds=5)",
	} {
		mod := strings.SplitN(hasher, ".", 2)[0]
		out, err := exec.Command("/usr/bin/python3", "-c", "from passlib.hash import "+mod+"\nprint("+hasher+".hash('"+pw+"'))").CombinedOutput()
		switch {
		case strings.Contains(string(out), "MissingBackendError"):
			t.Logf("%s: passlib has no backend for it here (python3-argon2 is missing); left out", name)
		case err != nil:
			t.Fatalf("%s: %v: %s", name, err, out)
		default:
			hashes[name] = strings.TrimSpace(string(out))
		}
	}
	return hashes
}

// TestImportToolHashes: hashes made by htpasswd, mkpasswd, Python passlib
// and the argon2 CLI import as they are, and their users log in over HTTP.
func TestImportToolHashes(t *testing.T) {
	hashes := toolHashes(t)
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		var lines []string
		i := 0
		for name, h := range hashes {
			i++
			lines = append(lines, fmt.Sprintf(`{"username":"tool%d","legacy_id":%q,"password_hash":%q}`, i, name, h))
		}
		sum, err := importString(t, db, strings.Join(lines, "\n"), userimport.Options{})
		if err != nil || sum.Imported != len(hashes) {
			t.Fatalf("%+v, %v (hashes %v)", sum, err, hashes)
		}
		c := start(t, db)
		for i := range len(hashes) {
			r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": fmt.Sprintf("tool%d", i+1), "password": "correct horse"}, "")
			if r.Status != http.StatusOK {
				var name string
				db.SQL().QueryRow(`SELECT legacy_id FROM users WHERE username = $1`, fmt.Sprintf("tool%d", i+1)).Scan(&name)
				t.Errorf("log-in with the hash of %s: %d %s", name, r.Status, r.Raw)
			}
		}
	})
}

// TestImportFollows: follows by userd id, legacy id, email and
// auth_user_id, in JSON lines and CSV; unknown users and self-follows are
// refused by line; counters are exact afterwards, also after a re-run.
func TestImportFollows(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		users := strings.Join([]string{
			`{"legacy_id":"u1","email":"u1@example.com","auth_user_id":"sub|1"}`,
			`{"legacy_id":"u2","email":"u2@example.com","auth_user_id":"sub|2"}`,
			`{"legacy_id":"u3","email":"u3@example.com","auth_user_id":"sub|3"}`,
		}, "\n")
		if sum, err := importString(t, db, users, userimport.Options{}); err != nil || sum.Imported != 3 {
			t.Fatalf("%+v, %v", sum, err)
		}
		ids := map[string]string{}
		for _, l := range []string{"u1", "u2", "u3"} {
			var id string
			db.SQL().QueryRow(`SELECT id FROM users WHERE legacy_id = $1`, l).Scan(&id)
			ids[l] = id
		}
		c := start(t, db)
		// u3 follows u1 already, by hand.
		_, tok := c.signup(map[string]any{"email": "u4@example.com"})
		if r := c.do("PUT", "/v1/users/u1/follow", nil, tok); r.Status != http.StatusNoContent {
			t.Fatalf("follow by legacy id: %d %s", r.Status, r.Raw)
		}
		jsonl := strings.Join([]string{
			`{"follower":"u1","following":"u2@example.com"}`,       // legacy id, email
			`{"follower":"sub|2","following":"` + ids["u3"] + `"}`, // auth_user_id, userd id
			`{"follower":"U3@Example.com","following":"u1"}`,       // email in another case
			`{"follower":"u1","following":"u1@example.com"}`,       // self
			`{"follower":"nobody","following":"u1"}`,               // unknown
			`{"follower":"u1","following":"u2"}`,                   // the first again
			`{"follower":"u1"}`,                                    // malformed
		}, "\n")
		ctx := context.Background()
		sum, err := userimport.ImportFollows(ctx, db, strings.NewReader(jsonl))
		want := map[string]int{"self_follow": 1, "unknown_user (follower)": 1, "already_following": 1, "malformed_record: follower and following are required": 1}
		if err != nil || sum.Read != 7 || sum.Imported != 3 || fmt.Sprint(sum.Skipped) != fmt.Sprint(want) {
			t.Fatalf("follows: %+v, %v", sum, err)
		}
		csv := "follower,following\n" + ids["u2"] + ",u1\nu3,u2\n"
		if sum, err := userimport.ImportFollows(ctx, db, strings.NewReader(csv)); err != nil || sum.Imported != 2 {
			t.Fatalf("CSV follows: %+v, %v", sum, err)
		}
		if sum, err := userimport.ImportFollows(ctx, db, strings.NewReader(csv)); err != nil || sum.Imported != 0 || sum.Skipped["already_following"] != 2 {
			t.Fatalf("CSV follows again: %+v, %v", sum, err)
		}
		// u1 ← u4, u3, u2; u1 → u2. u2 ← u1, u3; u2 → u3, u1. u3 ← u2; u3 → u1, u2.
		for l, want := range map[string][2]float64{"u1": {3, 1}, "u2": {2, 2}, "u3": {1, 2}} {
			r := c.do("GET", "/v1/users/"+url.PathEscape(l), nil, "")
			if r.Body["followers_count"] != want[0] || r.Body["followings_count"] != want[1] {
				t.Errorf("%s: followers %v, followings %v; want %v", l, r.Body["followers_count"], r.Body["followings_count"], want)
			}
		}
		if n := countRows(t, db, `SELECT count(*) FROM user_follows`); n != 6 {
			t.Fatalf("%d follows; want 6", n)
		}
	})
}
