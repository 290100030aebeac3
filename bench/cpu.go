package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc's processor times (USER_HZ, 100 on every
// Linux that Go runs on).
const clockTick = 10 * time.Millisecond

// procTimes returns the processor time (user and system) that process pid
// has used, and that of its children it has reaped; zero when it is gone or
// /proc is not there.
func procTimes(pid int) (own, reaped time.Duration) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The command (field 2) may hold spaces: the fields after it start
	// after its closing parenthesis, with the state (field 3).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:]))
	tick := func(n int) time.Duration { // field n of stat(5)
		v, _ := strconv.ParseInt(f[n-3], 10, 64)
		return time.Duration(v) * clockTick
	}
	if len(f) < 15 {
		return 0, 0
	}
	return tick(14) + tick(15), tick(16) + tick(17)
}

// parentOf returns the parent of process pid (0 when it is gone).
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// treeTime returns the processor time that process pid and its children,
// living or reaped, have used: a PostgreSQL server's, whose connections
// are its children.
func treeTime(pid int) time.Duration {
	own, reaped := procTimes(pid)
	total := own + reaped
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		child, err := strconv.Atoi(filepath.Base(d))
		if err == nil && parentOf(child) == pid {
			c, r := procTimes(child)
			total += c + r
		}
	}
	return total
}

// cpu is what the server and its database have used so far.
type cpu struct{ server, db time.Duration }

// cpu returns the processor time the target's server and (when the harness
// started it) its PostgreSQL have used so far.
func (t *target) cpu() cpu {
	c := cpu{}
	if t.pid > 0 {
		c.server, _ = procTimes(t.pid)
	}
	if t.dbPID > 0 {
		c.db = treeTime(t.dbPID)
	}
	return c
}

// metered runs a workload and adds to its result the processor time that
// the server and the database spent on each request: unlike requests a
// second, it hardly moves when other work shares the machine.
func (t *target) metered(run func() result) result {
	t.statements("SELECT 0, 0, 0, '' FROM (SELECT pg_stat_statements_reset()) r")
	before := t.cpu()
	r := run()
	after := t.cpu()
	// A batch's statement differs with its rows' count: they are summed
	// by the statement's start.
	t.statements(`SELECT sum(calls)::bigint, round(sum(total_exec_time)::numeric, 1), round(sum(total_plan_time)::numeric, 1), q
		FROM (SELECT *, left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS q FROM pg_stat_statements) s
		GROUP BY q ORDER BY sum(total_exec_time + total_plan_time) DESC LIMIT 15`)
	if n := r.Requests; n > 0 {
		r.ServerCPU = (after.server - before.server) / time.Duration(n)
		r.DBCPU = (after.db - before.db) / time.Duration(n)
	}
	return r
}

// statements is -statements: the harness's PostgreSQL keeps
// pg_stat_statements, which metered prints for each workload.
var statements bool

// statements runs q (a reset or a report of pg_stat_statements: calls,
// execution and planning milliseconds, the statement) on the target's
// PostgreSQL under -statements, and prints its rows.
func (t *target) statements(q string) {
	if !statements || t.dbPID == 0 {
		return
	}
	ctx := context.Background()
	db, err := sql.Open("pgx", t.dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: statements:", err)
		return
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: statements:", err)
		return
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: statements:", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var calls int64
		var exec, plan float64
		var query string
		if rows.Scan(&calls, &exec, &plan, &query) == nil && query != "" {
			fmt.Fprintf(os.Stderr, "    %8d calls %10.1f ms exec %8.1f ms plan  %s\n", calls, exec, plan, query)
		}
	}
}
