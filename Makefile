# slsync — the commands a developer and CI run. `make test` is what .ci/run calls.
GO      ?= go
BIN     := bin/slsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Short fuzz runs inside `make test`: one target per package per run (a Go rule).
# A count, not a duration: a duration can end during the baseline-coverage pass
# and fail with "context deadline exceeded" once the cached corpus is large.
FUZZTIME ?= 20000x

.PHONY: all build test vet fmt-check unit conformance fuzz bench demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/slsync

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 -timeout 8m ./...

# The emulator against Elastic's official Go client: a nested module
# (conformance/go.mod) so that go-elasticsearch never enters slsync's own
# dependencies. Root `go vet ./...` and `go test ./...` skip it. -vet=all runs
# every go vet analyzer on the race build, so the client (a large package) is
# compiled once, not twice (about 2 min on 2 cores with an empty build cache).
conformance:
	cd conformance && $(GO) test -race -vet=all -count=1 -timeout 8m ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/timevalue
	$(GO) test -run '^$$' -fuzz '^FuzzCanonical$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/roledesc
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/manifest
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMatchesGoYAML$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/manifest
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/plan
	$(GO) test -run '^$$' -fuzz '^FuzzParseCredentials$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/cloud
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBodies$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./internal/emulator

test: vet fmt-check unit conformance fuzz

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...

demo: build
	./scripts/demo.sh

clean:
	rm -rf bin
