package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodeHint says how to get what the node tests need.
const nodeHint = "the node tests need node (20 or later) and their packages: npm ci --prefix clients/typescript && " +
	"npm ci --prefix examples/node (bash .ci/run does both)"

// nodeTests runs `node --test` over the test files of dir (a folder of the
// repository holding a package.json and its node_modules) with extra node
// arguments, and the userd that TestMain built in $USERD_BIN. It fails,
// printing node's report, when a test fails, and when node or the
// folder's node_modules are missing.
func nodeTests(t *testing.T, dir string, nodeArgs ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(nodeHint)
	}
	dir = filepath.Join(moduleRoot, dir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(nodeHint)
	}
	files, err := filepath.Glob(filepath.Join(dir, "test", "*.test.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s/test", dir)
	}
	for i, f := range files {
		files[i], _ = filepath.Rel(dir, f)
	}
	bin, err := filepath.Abs(program(t, "./cmd/userd"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append(append(nodeArgs, "--test"), files...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "USERD_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test in %s: %v\n%s", dir, err, out)
	}
	t.Logf("node --test in %s:\n%s", dir, out)
}

// TestTypeScriptClient type-checks the TypeScript client (its hand-written
// layer against the generated types, and its tests) and runs its tests
// (clients/typescript/test) against real userd processes.
func TestTypeScriptClient(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(moduleRoot, "clients", "typescript")
	tsc := filepath.Join(dir, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatal(nodeHint)
	}
	run(t, dir, "node", "node_modules/typescript/bin/tsc", "--noEmit", "-p", ".")
	nodeTests(t, filepath.Join("clients", "typescript"), "--import", "tsx")
}
