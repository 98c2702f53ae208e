# ecrm — make help lists the targets.
GO      ?= go
NPM     ?= npm
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/ecrm

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Start everything on one machine: embedded Kafka, collector, profiler, personalize, demo shop (http://127.0.0.1:8080/demo/) and console (/console).
	$(GO) run -ldflags "-X main.version=$(VERSION)" ./cmd/ecrm run

.PHONY: build
build: ## Build the ecrm binary into bin/.
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ecrm

.PHONY: test
test: test-go test-js test-browser ## Run every test: Go (vet, race detector, end-to-end on the embedded broker), the tag (unit tests, size, freshness of the build) and the browser tests in Chromium.

.PHONY: test-go
test-go: ## Run go vet and the Go tests with the race detector.
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

.PHONY: test-js
test-js: sdk-js/node_modules ## Test the browser tag: node unit tests, gzip size, committed build up to date.
	cd sdk-js && $(NPM) test && $(NPM) run size && $(NPM) run check-dist

.PHONY: test-browser
test-browser: sdk-js/node_modules ## Run the tag and the console in Debian's Chromium (/usr/bin/chromium, apt-get install chromium) against a real ecrm run.
	cd sdk-js && $(NPM) run test:browser

sdk-js/node_modules: sdk-js/package.json sdk-js/package-lock.json
	cd sdk-js && $(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: js
js: sdk-js/node_modules ## Rebuild the browser tag into sdk-js/dist (commit the result).
	cd sdk-js && $(NPM) run build

.PHONY: fuzz
fuzz: ## Run each fuzz target for a short while (FUZZTIME, default 20s).
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBatch -fuzztime=$${FUZZTIME:-20s} ./internal/event/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$${FUZZTIME:-20s} ./internal/enrich/
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$${FUZZTIME:-20s} ./internal/catalog/
	$(GO) test -run='^$$' -fuzz='^FuzzUnmarshal$$' -fuzztime=$${FUZZTIME:-20s} ./internal/event/
	$(GO) test -run='^$$' -fuzz='^FuzzUnmarshal$$' -fuzztime=$${FUZZTIME:-20s} ./internal/profile/
	$(GO) test -run='^$$' -fuzz='^FuzzAppendJSON$$' -fuzztime=$${FUZZTIME:-20s} ./internal/profile/
	$(GO) test -run='^$$' -fuzz='^FuzzAppendLean$$' -fuzztime=$${FUZZTIME:-20s} ./internal/profile/
	$(GO) test -run='^$$' -fuzz='^FuzzParseAnswer$$' -fuzztime=$${FUZZTIME:-20s} ./bench/internal/loadgen/

.PHONY: bench
bench: bench-go bench-collector bench-profiler bench-personalize eval ## Run every benchmark and load test (never part of make test).

.PHONY: bench-go
bench-go: ## Run the Go micro-benchmarks.
	$(GO) test -run='^$$' -bench=. -benchmem ./...

.PHONY: bench-collector
bench-collector: wrk ## Load-test the collector (embedded Kafka, loopback HTTP) against a bare Fiber handler: peak rps ratio (wrk), p50/p99 at half the peak, every accepted hit in Kafka (DURATION of the peaks, default 10s; OPEN_DURATION of the latency runs, default 30s).
	$(GO) run ./bench/collector -duration $${DURATION:-10s} -open-duration $${OPEN_DURATION:-30s}

.PHONY: wrk
wrk: ## Install Debian's wrk if it is missing (as root): the closed-loop load generator of bench-collector and bench-personalize.
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		echo "installing wrk (apt-get install -y wrk)" && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "the load benchmarks need wrk: apt-get install -y wrk (or run them with -loadgen=go)"; exit 1; }

.PHONY: bench-profiler
bench-profiler: ## Benchmark the profiler in one process on embedded Kafka: hits/s one member turns into profiles from a backlog (EVENTS, default 200000), and send-to-visible freshness through collector, profiler and view at RATE hits/s (default 10000) for DURATION (default 10s).
	$(GO) run ./bench/profiler -events $${EVENTS:-200000} -rate $${RATE:-10000} -duration $${DURATION:-10s}

.PHONY: bench-personalize
bench-personalize: wrk ## Load-test personalize over 1M profiles in Pebble and 100k items (loopback HTTP, no Kafka) against a bare Fiber handler: peak rps ratio (wrk), p99 in the recommend and decide handlers at half the peak (DURATION, default 10s; PROFILES, default 1000000).
	$(GO) run ./bench/personalize -duration $${DURATION:-10s} -profiles $${PROFILES:-1000000}

RECSYS ?= ../shared/data/recsys
.PHONY: eval
eval: ## Evaluate the recommender on every split of $(RECSYS): next-item HR@20 and MRR@20, the current item left out, then allowed (comparable with session-rec's figures).
	@for s in yoochoose-100k diginetica-sample retailrocket-sample; do \
	  for x in true false; do \
	    printf '%-22s exclude-current=%-5s ' $$s $$x; \
	    $(GO) run ./cmd/ecrm eval --train $(RECSYS)/$$s/train.csv --test $(RECSYS)/$$s/test.csv --exclude-current=$$x 2>/dev/null | tail -n 1; \
	  done; \
	done

.PHONY: clean
clean: ## Remove build output (not ./data).
	rm -rf bin
