# purista — developer entry points. `make help` lists them.
#
# Two commands set you up: `make dev` runs the example project, `make test` runs every test.
# CI runs .ci/run, which makes sure the brokers are up and then runs `make test`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

GO        ?= go
MODULE    := github.com/purista-go/purista
BIN_DIR   := bin
TOOLS_DIR := $(BIN_DIR)/tools

# Version stamping (internal/buildinfo). Works in a repository without commits or tags.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify --quiet HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w \
	-X $(MODULE)/internal/buildinfo.Version=$(VERSION) \
	-X $(MODULE)/internal/buildinfo.Commit=$(COMMIT) \
	-X $(MODULE)/internal/buildinfo.Date=$(DATE)

# `make dev`: `purista dev` on the signup example — the terminal UI in a terminal,
# headless log lines otherwise (CI, pipes). DEV_FLAGS adds flags, e.g.
#   make dev DEV_FLAGS=--distributed
#   make dev DEV_FLAGS='--distributed --broker-url nats://127.0.0.1:4222'
DEV_DIR   ?= examples/signup
DEV_FLAGS ?=
# purista dev itself shows the TUI only when stdin and stdout are terminals (make's own
# $(shell) cannot tell: its stdout is always a pipe).
DEV_RUN   ?= $(CURDIR)/$(BIN_DIR)/purista dev $(DEV_FLAGS)
DEV_DEPS  ?= build

# Tests. TESTFLAGS adds flags, e.g. make test TESTFLAGS='-run TestExecute -v'
TESTFLAGS ?=
# Every Go module in the tree (the root one plus nested ones such as an example with its
# own go.mod); test data and templates are not modules of ours.
MODULE_DIRS := $(sort $(patsubst %/go.mod,%,$(shell find . -name go.mod \
	-not -path '*/testdata/*' -not -path './templates/*' -not -path './$(BIN_DIR)/*' -not -path './dist/*' 2>/dev/null)))

# Benchmarks. BENCHFLAGS adds flags, e.g. make bench BENCHFLAGS='-benchtime=2s -count=3'
BENCHFLAGS ?=
BENCH_OUT  ?= $(BIN_DIR)/bench.txt

STATICCHECK_VERSION ?= v0.8.2
GORELEASER_VERSION  ?= v2.15.1

.PHONY: help dev test test-short stress fmt-check vet lint staticcheck bench build goreleaser-check clean FORCE

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

dev: $(DEV_DEPS) ## purista dev on the signup example (TUI in a terminal, headless otherwise)
	@test -d "$(DEV_DIR)" || { echo "make dev: $(DEV_DIR) does not exist yet" >&2; exit 1; }
	cd $(DEV_DIR) && $(DEV_RUN)

test: fmt-check vet ## gofmt + go vet, then every test with the race detector
	@for dir in $(MODULE_DIRS); do \
		echo "==> go test -race ./... in $$dir"; \
		(cd $$dir && $(GO) test -race -count=1 $(TESTFLAGS) ./...); \
	done

test-short: ## the fast tier: every package's tests with -short (no end-to-end builds), no race detector
	@for dir in $(MODULE_DIRS); do \
		echo "==> go test -short ./... in $$dir"; \
		(cd $$dir && $(GO) test -short -vet=off -count=1 $(TESTFLAGS) ./...); \
	done

stress: ## run the tests three times under a CPU hog on every core (STRESS_RUNS=N for more)
	bash scripts/stress.sh $(or $(STRESS_RUNS),3)

fmt-check: ## fail if any Go file is not gofmt-formatted
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './$(BIN_DIR)/*' -not -path './dist/*' -not -path '*/testdata/*')); \
	if [ -n "$$files" ]; then echo "gofmt needed on:" >&2; echo "$$files" >&2; exit 1; fi

vet: ## go vet every module
	@for dir in $(MODULE_DIRS); do (cd $$dir && $(GO) vet ./...); done

lint: fmt-check vet staticcheck ## gofmt, go vet and staticcheck

# staticcheck is installed pinned into bin/tools (kept out of go.mod). If it cannot be
# fetched or built (offline, proxy refuses), lint says so and goes on without it. It checks
# the default build and the memory-only one (every bridge's build tag), merged, so that
# code used only with the tags is not reported unused.
staticcheck: ## staticcheck every module (installed pinned into bin/tools)
	@mkdir -p $(TOOLS_DIR)
	@if GOBIN=$(CURDIR)/$(TOOLS_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) 2>$(TOOLS_DIR)/staticcheck-install.log; then \
		rm -f $(TOOLS_DIR)/staticcheck-install.log; \
		for dir in $(MODULE_DIRS); do (cd $$dir && printf '%s\n' 'all:' 'memoryonly: -tags=purista_no_nats,purista_no_amqp,purista_no_mqtt' \
			| $(CURDIR)/$(TOOLS_DIR)/staticcheck -matrix ./...); done; \
	else \
		echo "lint: SKIPPED staticcheck: could not install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)" >&2; \
		sed 's/^/lint:   /' $(TOOLS_DIR)/staticcheck-install.log >&2 || true; \
	fi

bench: ## run every benchmark once and print the `ratio <case> <x>` lines (ours ÷ baseline)
	@mkdir -p $(BIN_DIR)
	@status=0; \
	echo "$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./..."; \
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./... | tee $(BENCH_OUT) || status=$$?; \
	echo; \
	echo "== ratios (time per op, ours ÷ baseline; full output in $(BENCH_OUT)) =="; \
	grep '^ratio ' $(BENCH_OUT) || echo "(no ratio lines: no benchmark printed one)"; \
	exit $$status

build: $(BIN_DIR)/purista ## build bin/purista with version, commit and date stamped in (no -trimpath: `purista new` finds this checkout)
	@$(BIN_DIR)/purista version

# bin/purista is relinked only when what it is built from changed: a Go file, an embedded
# file (templates, docs), go.mod/go.sum, or the stamp below. Test files do not count.
PURISTA_SRCS := go.mod go.sum $(shell find templates -type f 2>/dev/null) $(shell find cmd internal pkg docs -type f \
	\( -name '*.go' -o -name '*.md' \) -not -name '*_test.go' -not -path '*/testdata/*' 2>/dev/null)
# The stamp holds the version, commit and Go toolchain; it is rewritten only when one of
# them changed (the build date alone does not relink).
BUILD_STAMP  := $(BIN_DIR)/.purista-stamp
BUILD_ID      = $(VERSION) $(COMMIT) $(shell $(GO) env GOVERSION)

$(BUILD_STAMP): FORCE
	@mkdir -p $(BIN_DIR)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(BUILD_ID)" ]; then echo "$(BUILD_ID)" > $@; fi

$(BIN_DIR)/purista: $(PURISTA_SRCS) $(BUILD_STAMP)
	@echo "make build: compiling bin/purista (on a cold Go cache the modules download and compile first: a few minutes)"
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./cmd/purista

FORCE:

goreleaser-check: ## validate .goreleaser.yaml with goreleaser itself (slow: ~2 min to build it)
	$(GO) run github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION) check

clean: ## remove build output
	rm -rf $(BIN_DIR) dist coverage.out coverage.html
