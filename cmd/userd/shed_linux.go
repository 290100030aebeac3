package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// shedStartup hands back to the kernel the memory that start-up used and
// serving does not, and returns the resident set before and after, in
// bytes. Start-up runs code that never runs again (every route's
// registration, the OpenAPI document, the packages' initialisation) all
// over the binary, and the kernel maps each page's neighbours with it:
// about three quarters of the binary's code and read-only data stay
// resident, and count in the process's memory, until memory runs short.
// shedStartup asks the kernel to reclaim those read-only pages of the
// binary now (MADV_PAGEOUT, Linux 5.4 and later), so that the resident set
// holds what requests run, which faults back in as they run it, and it
// returns the heap's start-up garbage. Where the kernel lacks MADV_PAGEOUT,
// only the heap's garbage goes, and the error says so.
func shedStartup() (before, after int64, err error) {
	before = residentBytes()
	debug.FreeOSMemory()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return before, residentBytes(), fmt.Errorf("read memory maps: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return before, residentBytes(), fmt.Errorf("find the binary: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe || f[1][1] != '-' {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The mapping is the binary's own, read-only: no Go value lives
		// there, and reclaiming its pages loses nothing that the file
		// does not hold.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno != 0 {
			return before, residentBytes(), fmt.Errorf("madvise MADV_PAGEOUT: %w", errno)
		}
	}
	return before, residentBytes(), nil
}

// residentBytes returns the process's resident set (VmRSS), 0 when
// unknown.
func residentBytes() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
