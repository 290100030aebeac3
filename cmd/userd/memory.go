package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"time"
)

// tuneMemory sets the collector's pace and the soft memory limit unless
// GOGC and GOMEMLIMIT already did. limitMiB is --memory-limit: 0 for none, a
// size in MiB, or -1 (the default) for a limit and a pace that follow the
// heap and the hashing (followHeap) with room for hashBytes of argon2id
// memory on every core; begun counts the hashes begun
// (password.Hasher.Begun).
// Go's default pace of 100 suits userd: 50 held 4 MB less under GET /v1/me
// and served it 5-20% slower in the harness.
func tuneMemory(ctx context.Context, limitMiB, gcPercent int, hashBytes uint64, begun func() uint64) {
	pace := gcPercent
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	} else {
		pace = -1
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	switch {
	case limitMiB > 0:
		debug.SetMemoryLimit(int64(limitMiB) << 20)
	case limitMiB < 0:
		go followHeap(ctx, hashBytes, runtime.GOMAXPROCS(0), pace, begun)
	}
}

// minRest is the least room derivedLimit leaves for what is not a hash: the
// heap of an idle server, its goroutines' stacks and the runtime's own.
const minRest = 16 << 20

// derivedLimit is the soft memory limit for a live heap of live bytes, with
// other bytes of the runtime's own (goroutines' stacks, the collector's
// metadata), on a server that hashes passwords with hashBytes of argon2id
// memory on each of cores cores at once. Every hash allocates its memory
// afresh and leaves it to the collector (golang.org/x/crypto/argon2 as
// published), so without a limit the collector's pace doubles the hashes in
// flight, which it counts as live, and a burst of log-ins holds several
// hashes' memory besides: the limit leaves room for two hashes a core (the
// one in flight, the last one's not yet collected), for the rest of the heap
// twice what is live of it (Go's default pace), and for the runtime's own,
// at least minRest for these two. A heap or stacks that grow for other
// reasons (caches, many connections) move the limit with them instead of
// making the collector run without pause.
func derivedLimit(hashBytes uint64, cores int, live, other uint64) int64 {
	hashes := uint64(cores) * hashBytes
	var rest uint64
	if live > hashes {
		rest = live - hashes
	}
	return int64(2*hashes + max(minRest, 2*rest+other))
}

// The runtime/metrics that followHeap reads.
var heapMetrics = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// hashingFor is how long after the last hash began followHeap still counts
// hashes in the live heap.
const hashingFor = 5 * time.Second

// followTick is how often followHeap sets the limit: a burst of log-ins
// after a quiet spell meets the hashing limit within it.
const followTick = 250 * time.Millisecond

// liveFor is the live heap that followHeap derives the limit from (see
// derivedLimit, which counts hashes' memory in it). While passwords are
// hashed, a collection counts those in flight as live, a hash or two more
// in a burst: the least of the last few seconds' collections leaves them
// out. When none has begun for hashingFor, no hash is in the heap: its
// latest live heap and the hashes' memory, so that the limit leaves room
// both for the rest of the heap to double and for the next burst's
// hashes, instead of counting as hashes what is caches (which made the
// collector run without pause once a storm's sessions filled them).
func liveFor(recent []uint64, hashes uint64, hashing bool) uint64 {
	if hashing {
		return slices.Min(recent)
	}
	return recent[len(recent)-1] + hashes
}

// hashingRegime returns the collector's pace and the soft memory limit
// while passwords are hashed, from the pace otherwise (-1 when GOGC set it),
// the limit that derivedLimit gives, the hashes' memory on every core and
// the live heap: a pace that lets the heap grow past what is live by three
// quarters of the hashes' memory (so that the collector runs about once
// for every three quarters of a hash a core, however large the caches
// are), at most 50 and at least 10, and the limit one hash a core above
// the derived one.
// Every hash allocates its memory afresh, so it is the collector's pace that
// must bound the heap then, not the limit: a limit that binds makes the
// runtime give back, at every collection, memory that the next hash faults
// in again page by page (10 µs a page on the harness's virtual machine, 18
// ms for one hash's 7 MiB), while a collector that runs before the limit is
// reached keeps the freed hashes' memory for the next ones. The limit
// stays, above where the pace holds the heap, for a burst beyond it.
func hashingRegime(pace int, limit int64, hashes, live uint64) (int, int64) {
	if pace >= 0 {
		pace = min(pace, 50, max(10, int(75*hashes/max(live, 1))))
	}
	return pace, limit + int64(hashes)
}

// followHeap sets the soft memory limit to derivedLimit every followTick
// until ctx ends, from the live heap (liveFor: the least of the last few
// seconds while passwords are hashed, the latest otherwise) and the memory
// the runtime holds besides the heap; while passwords are hashed, it sets
// the collector's pace and the limit as hashingRegime says, and restores
// pace (unless it is -1: GOGC set it) when hashing stops.
func followHeap(ctx context.Context, hashBytes uint64, cores, pace int, begun func() uint64) {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	var recent []uint64
	keep := int(8 * time.Second / followTick)
	hashes := uint64(cores) * hashBytes
	lastBegun, lastHash := begun(), time.Time{}
	tick := time.NewTicker(followTick)
	defer tick.Stop()
	for {
		metrics.Read(samples)
		var v [6]uint64
		for i, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				v[i] = s.Value.Uint64()
			}
		}
		if recent = append(recent, v[0]); len(recent) > keep {
			recent = recent[1:]
		}
		var other uint64
		if heap := v[2] + v[3] + v[4] + v[5]; v[1] > heap {
			other = v[1] - heap
		}
		if n := begun(); n != lastBegun {
			lastBegun, lastHash = n, time.Now()
		}
		hashing := time.Since(lastHash) < hashingFor
		limit, gc := derivedLimit(hashBytes, cores, liveFor(recent, hashes, hashing), other), pace
		if hashing {
			gc, limit = hashingRegime(pace, limit, hashes, recent[len(recent)-1])
		}
		if gc >= 0 {
			debug.SetGCPercent(gc)
		}
		debug.SetMemoryLimit(limit)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
