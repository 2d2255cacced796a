# Everything runs through the go command and tools pinned in go.mod, so a fresh
# machine needs nothing but Go and the module proxy.
GO       ?= go
BIN      := $(CURDIR)/bin
GINKGO   := $(GO) run github.com/onsi/ginkgo/v2/ginkgo
FUZZTIME ?= 1m
SMOKE    ?= 100000x
# The end-to-end suite drives the binaries built by `make build`.
export CHAT_BIN_DIR := $(BIN)

# package:FuzzTarget pairs run by `make fuzz` (long) and `make test` (smoke).
FUZZ_TARGETS := ./internal/wire:FuzzDecoder ./internal/term:FuzzDecodeKey ./client:FuzzEditor \
                ./server/hub:FuzzHub ./server/auth:FuzzParseUsers ./server/irc:FuzzIRCLine \
                ./server/irc:FuzzIRCSession ./internal/term:FuzzPasswordEditor \
                ./internal/tlspipe:FuzzPipeRecords ./internal/tlspipe:FuzzPipeHandshake \
                ./internal/tlspipe:FuzzOwnRecords ./server/hub:FuzzMode ./internal/wire:FuzzMatchMask

.PHONY: all build test unit e2e scenarios fuzz fuzz-smoke lint bench clean demo

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./server/cmd/chat-server ./client/cmd/chat ./loadgen/cmd/loadgen

## test: lint, unit tests with the race detector, PTY specs, scenarios, fuzz smoke.
test: lint build unit e2e scenarios fuzz-smoke

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e /harness/e2e -e /scenarios)

e2e: build
	$(GINKGO) -p --randomize-all --fail-on-pending --timeout=5m ./harness/e2e

scenarios: build
	$(GO) test -count=1 ./scenarios/

# The smoke run minimizes a new input for a few seconds at most: the
# default minute is spent on one slow input, not on finding others.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(SMOKE) FUZZMINIMIZE=5s

FUZZMINIMIZE ?= 60s

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	done

lint:
	@out=$$(gofmt -l .); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## bench: Go benchmarks and short loadgen runs of every profile with both
## pollers, then the same IRC loads (loadgen -proto irc) against our server
## and Debian's ngircd and InspIRCd, which it installs with apt-get when
## missing (as root, or through sudo); writes docs/BENCHMARKS.md (about 12
## minutes), and the durable history section: the same loads with messages
## in memory, in the embedded store and with -fsync always, the crash profile
## and a restart on a million stored messages; the cluster section: 30,000
## idle sessions and rooms of 100 over three servers on a NATS cluster, and
## the failover profile, one of them killed under 15,000 sessions (about 12
## minutes more, most of it the failover run's password logins); and the
## cluster chaos section: the chaos profile for ten minutes on three servers
## and a NATS cluster (about 11 minutes more). BENCH_ONLY=peers,
## BENCH_ONLY=durable, BENCH_ONLY=cluster or BENCH_ONLY=chaos runs that
## section alone and replaces just it.
BENCH_ONLY ?=
bench: build
	$(GO) run ./loadgen/cmd/benchreport -bin $(BIN) -out docs/BENCHMARKS.md $(if $(BENCH_ONLY),-only $(BENCH_ONLY))

## demo: a server on the default port with generated demo accounts, over TLS with a certificate made for the run.
demo: build
	$(BIN)/chat-server -demo

clean:
	rm -rf $(BIN)

## irctest: the IRC conformance suite (../shared/irctest) against bin/chat-server's
## IRC listener; fails only if a test of harness/irctest/baseline.txt stops
## passing (docs/IRCTEST.md). Installs Debian's python3-pytest if missing.
IRCTEST_PYTHON ?= /usr/bin/python3
IRCTEST_DIR    ?= $(CURDIR)/../shared/irctest
IRCTEST_MARKS  ?= not Ergo and not deprecated and not strict and not services
IRCTEST_RUN     = @test -x $(IRCTEST_PYTHON) || { echo "irctest: $(IRCTEST_PYTHON) is missing: irctest runs on Debian's python3 (apt-get install -y python3)" >&2; exit 1; }; \
	$(IRCTEST_PYTHON) harness/irctest/run.py --irctest-dir "$(IRCTEST_DIR)" --marks "$(IRCTEST_MARKS)"

.PHONY: irctest irctest-store irctest-baseline

irctest: build
	$(IRCTEST_RUN)

## irctest-store: the same against a server keeping messages in its embedded
## store (-state): the same baseline must pass.
irctest-store: export CHAT_IRCTEST_STORE = 1
irctest-store: build
	$(IRCTEST_RUN)

## irctest-baseline: run irctest and rewrite the baseline with what passes.
irctest-baseline: build
	$(IRCTEST_RUN) --write-baseline
