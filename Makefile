# Hearth — see README.md.
GO      ?= go
BIN     := bin/hearth

.PHONY: all deps test-deps build compile demo test test-unit test-fuzz test-integration fuzz bench vet clean ui-filter

all: build

deps:
	@scripts/deps.sh

# The aws CLI v2 (Debian) and v1 (PyPI) and boto3, for the EMR API tests;
# Debian's Chromium and playwright-core, for the console's browser test.
test-deps: deps
	@scripts/test-deps.sh
	@scripts/browser-deps.sh

build: deps compile

compile:
	$(GO) build -o $(BIN) ./cmd/hearth

# Creates a 1 master + 2 worker local cluster, runs a job on it, prints the
# result, terminates it. The installs (pip's download waits on the network)
# and the Go build (on the CPU) overlap.
demo:
	@$(MAKE) --no-print-directory -j2 deps compile
	@scripts/demo.sh

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above" >&2; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

test-unit:
	$(GO) test -count=1 ./...

# Real Spark JVMs, real SQLite, the real binary.
test-integration:
	$(GO) test -count=1 -p 1 -tags integration -timeout 40m ./internal/testhosts/ ./internal/fakeec2/ ./e2e/

# Every fuzz target (scripts/fuzz.sh) briefly, from its committed corpus
# (testdata/fuzz/): about a minute in all.
test-fuzz:
	@GO=$(GO) scripts/fuzz.sh 6s

# The same targets for longer: make fuzz FUZZTIME=10m.
FUZZTIME ?= 60s
fuzz:
	@GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

test: deps test-deps vet test-unit test-integration test-fuzz

bench: build
	$(GO) run ./bench/clusterready -hearth $(BIN)
	$(GO) run ./bench/steps -hearth $(BIN)
	$(GO) run ./bench/s3 -hearth $(BIN)
	$(GO) run ./bench/run -hearth $(BIN)
	$(GO) run ./bench/ssh -hearth $(BIN)
	$(GO) run ./bench/resilience -hearth $(BIN)
	$(GO) run ./bench/metrics -hearth $(BIN)
	$(GO) run ./bench/replicas -hearth $(BIN)

# Rebuilds the Spark 3 UI filter jar (committed; needs a JDK and pyspark).
ui-filter:
	@scripts/ui-filter.sh

clean:
	rm -rf bin
