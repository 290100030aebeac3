package web_test

import (
	"context"
	"strings"
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

// TestImportUsers imports JSON lines with foreign hashes and bad records;
// imported users log in with their old password and are re-hashed; a re-run
// imports nothing twice.
func TestImportUsers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		jsonl := strings.Join([]string{
			`{"email":"Ann@Example.com","first_name":"Ann","password_hash":"` + htpasswdBcrypt + `"}`,
			`{"username":"bob","password_hash":"argon2$` + cliArgon2id + `"}`,
			`{"phone_number":"+33612345678"}`,
			`{"email":"not-an-email","password_hash":"` + htpasswdBcrypt + `"}`,
			`{"email":"md5@example.com","password_hash":"md5$x$y"}`,
			`{"email":"ANN@example.com"}`,
			`{"email":"x@example.com","is_admin":true}`,
			`not json`,
			``,
		}, "\n")
		sum, err := userimport.Import(ctx, db, strings.NewReader(jsonl), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"invalid_email (email)": 1, "unsupported_password_hash": 1, "already_exists": 1, "malformed_record": 2}
		if sum.Read != 8 || sum.Imported != 3 || len(sum.Skipped) != len(want) {
			t.Fatalf("summary %+v", sum)
		}
		for k, v := range want {
			if sum.Skipped[k] != v {
				t.Errorf("skipped[%s] = %d; want %d (%v)", k, sum.Skipped[k], v, sum.Examples)
			}
		}
		again, err := userimport.Import(ctx, db, strings.NewReader(jsonl), nil)
		if err != nil || again.Imported != 0 || again.Skipped["already_exists"] != 4 {
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
		sum, err = userimport.Import(ctx, db, strings.NewReader(csv), nil)
		if err != nil || sum.Imported != 2 || sum.Skipped["malformed_record"] != 1 {
			t.Fatalf("CSV: %+v, %v", sum, err)
		}
		if _, err := userimport.Import(ctx, db, strings.NewReader("email,role\nx@example.com,admin\n"), nil); err == nil {
			t.Fatal("a CSV with an unknown column imported")
		}
	})
}
