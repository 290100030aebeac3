# userd — make targets. `make test` is what CI runs.
GO ?= go

.PHONY: build test vet fuzz run bench bench-quick clients

build:
	$(GO) build -o bin/userd ./cmd/userd

vet:
	$(GO) vet ./...

# The whole suite on SQLite and on a throwaway PostgreSQL cluster that the
# tests start themselves (needs initdb and pg_ctl: apt-get install -y postgresql).
test: vet
	$(GO) test -count=1 -timeout 12m ./...

# Regenerate the Go client (client/client.gen.go) and the TypeScript client's
# types (clients/typescript/src/schema.d.ts) from the OpenAPI document that a
# freshly built userd serves; without -update the same test fails when they
# differ. Needs npm ci --prefix clients/typescript.
clients:
	$(GO) test -count=1 -run '^TestGeneratedClients$$' ./client -update

# A short run of every fuzz target.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./internal/platform/token
	$(GO) test -run '^$$' -fuzz FuzzSignupBody -fuzztime 20s ./internal/web
	$(GO) test -run '^$$' -fuzz FuzzCheckObject -fuzztime 20s ./internal/feature/crm

run:
	$(GO) run ./cmd/userd

# The load harness: userd on SQLite and on a throwaway PostgreSQL, 1M users,
# every workload of shared/docs/performance.md; results in bench/results/.
bench:
	$(GO) run ./bench

# A one-minute smoke run of the harness (10k users, 3 s per workload).
bench-quick:
	$(GO) run ./bench -quick
