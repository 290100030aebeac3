//go:build !linux

package main

import "runtime/debug"

// shedStartup returns the heap's start-up garbage to the system; the
// binary's pages stay as the system keeps them (see the Linux version).
func shedStartup() (before, after int64, err error) {
	debug.FreeOSMemory()
	return 0, 0, nil
}
