package client_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// update makes TestGeneratedClients write what the served document gives
// over the committed files instead of comparing them: `make clients`.
var update = flag.Bool("update", false, "regenerate the committed clients from the served OpenAPI document")

// tsModules is the TypeScript client's node_modules (npm ci --prefix
// clients/typescript), which holds openapi-typescript.
var tsModules = filepath.Join(moduleRoot, "clients", "typescript", "node_modules")

// TestGeneratedClients generates both clients from the OpenAPI document that
// a freshly started userd serves at /openapi.json, and fails when the
// committed files differ: client/client.gen.go (oapi-codegen, run as the
// module's pinned tool) and clients/typescript/src/schema.d.ts
// (openapi-typescript of clients/typescript's package-lock.json; skipped
// when its node_modules are not installed). With -update it writes them.
func TestGeneratedClients(t *testing.T) {
	t.Parallel()
	srv := startUserd(t)
	resp, err := http.Get(srv.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, %v", resp.StatusCode, err)
	}
	dir := t.TempDir()
	docPath := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(docPath, doc, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("go", func(t *testing.T) {
		out := filepath.Join(dir, "client.gen.go")
		run(t, ".", "go", "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", "-o", out, docPath)
		compare(t, out, "client.gen.go")
	})
	t.Run("typescript", func(t *testing.T) {
		cli := filepath.Join(tsModules, "openapi-typescript", "bin", "cli.js")
		if _, err := os.Stat(cli); err != nil {
			if *update {
				t.Fatal("openapi-typescript is not installed: npm ci --prefix clients/typescript")
			}
			t.Skip("skipped: clients/typescript/node_modules is not installed, so the TypeScript types are not checked (npm ci --prefix clients/typescript; bash .ci/run does it)")
		}
		out := filepath.Join(dir, "schema.d.ts")
		run(t, ".", "node", cli, docPath, "--output", out)
		compare(t, out, filepath.Join(moduleRoot, "clients", "typescript", "src", "schema.d.ts"))
	})
}

// run runs a command in dir and fails the test, with its output, when it
// fails.
func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// compare fails when the committed file differs from the generated one, or
// with -update copies the generated one over it.
func compare(t *testing.T, generated, committed string) {
	t.Helper()
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committed, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", committed)
		return
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the served OpenAPI document gives (%s): run `make clients` and commit the result", committed, firstDifference(want, got))
	}
}

// firstDifference describes the first line where the committed text a and
// the generated text b differ.
func firstDifference(a, b []byte) string {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y []byte
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("line %d is %q, the document gives %q", i+1, x, y)
		}
	}
	return "they differ"
}
