package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestServeShedsStartup: once serving, userd holds resident only a small
// part of its binary's code and read-only data, which start-up touched
// nearly all of, and says so in its log. The binary is a copy of the
// test's: the kernel reclaims no page that another process maps.
func TestServeShedsStartup(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "userd")
	raw, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o700)
	if err == nil {
		_, err = f.Write(raw)
	}
	if err == nil {
		err = f.Sync() // the kernel reclaims no page that is not on disk yet
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			args := []string{"--argon2-memory", "64", "--argon2-time", "1"}
			p := startBinary(t, bin, append(args, dbArgs(t, engine)...)...)
			// The log reaches the test through a pipe: wait for the line.
			var log string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if log = p.stderr.String(); strings.Contains(log, "start-up memory") {
					break
				}
			}
			if strings.Contains(log, "start-up memory kept") {
				t.Skip("this kernel lacks MADV_PAGEOUT: " + log)
			}
			if !strings.Contains(log, "start-up memory handed back") {
				t.Fatalf("no word of the start-up memory in the log:\n%s", log)
			}
			resident, size := binaryPages(t, p.cmd.Process.Pid)
			// Without shedding, three quarters or more stay resident.
			if size == 0 || resident*100 > size*50 {
				t.Fatalf("%d of the binary's %d read-only bytes resident; want at most half", resident, size)
			}
		})
	}
}

// binaryPages returns how many bytes of the read-only mappings of process
// pid's binary are resident, and their size.
func binaryPages(t *testing.T, pid int) (resident, size int64) {
	exe, err := filepath.EvalSymlinks(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	mine := false
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) >= 6 && strings.Contains(fs[0], "-") && len(fs[1]) == 4:
			mine = fs[5] == exe && fs[1][1] == '-'
		case mine && len(fs) == 3 && (fs[0] == "Size:" || fs[0] == "Rss:"):
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			if fs[0] == "Size:" {
				size += kb << 10
			} else {
				resident += kb << 10
			}
		}
	}
	return resident, size
}
