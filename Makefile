# STC — run `make help` for the targets.
GO        ?= go
BIN       := bin
TOOLS     := $(BIN)/tools
PLUGINDIR := $(BIN)/plugins
# Every plugin binary is built from a cmd/stc-<kind>-<name>/main.go.
PLUGIN_CMDS := $(shell find plugins examples -path '*/cmd/stc-*' -name main.go -exec dirname {} \; 2>/dev/null | sort)
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-12s\033[0m %s\n",$$1,$$2}'

build: ## Build the host (bin/stc) and every plugin (bin/plugins) with a SHA256SUMS manifest
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/stc ./host/cmd/stc
	@mkdir -p $(PLUGINDIR)
	@for d in $(PLUGIN_CMDS); do \
		echo "  plugin $$(basename $$d)"; \
		$(GO) build -trimpath -ldflags '-s -w' -o $(PLUGINDIR)/$$(basename $$d) ./$$d || exit 1; \
	done
	@cd $(PLUGINDIR) && sha256sum stc-* > SHA256SUMS
	@echo "built $(BIN)/stc and $$(ls $(PLUGINDIR) | grep -c '^stc-') plugins; manifest $(PLUGINDIR)/SHA256SUMS"

# RUN_TRACK is what `make run` keeps fresh unless STC_TRACK says otherwise:
# the paper broker's most traded pairs at 1m, OTC twins included so there
# is data at weekends. The host itself tracks nothing by default.
RUN_TRACK := paper:EURUSD-OTC:1m,paper:GBPUSD-OTC:1m,paper:USDJPY-OTC:1m,paper:AUDCAD-OTC:1m,paper:EURUSD:1m,paper:GBPUSD:1m,paper:USDJPY:1m,paper:AUDCAD:1m

run: build ## Build everything and start the host on the embedded store (http://localhost:8080)
	STC_PLUGIN_DIR=$(PLUGINDIR) STC_TRACK="$${STC_TRACK:-$(RUN_TRACK)}" $(BIN)/stc serve -dev

test: ## Run every test with the race detector (needs PostgreSQL on 127.0.0.1:5432 for store tests)
	$(GO) test -race -count=1 -timeout=30m ./...

bench: ## Run the Go benchmarks (numbers and method: docs/BENCHMARKS.md)
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./sdk/... ./plugins/... ./host/...

web-vendor: ## Re-download the cockpit's vendored files (npm pack) and verify their pinned checksums (host/internal/cockpit/vendor.txt)
	host/internal/cockpit/vendor.sh

screenshots: ## Drive the cockpit in headless Chromium and save its pages at 1440x900 and 390x844 into docs/screenshots
	STC_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestCockpitInBrowser$$' ./host/cmd/stc

tools: $(TOOLS)/buf $(TOOLS)/golangci-lint $(TOOLS)/benchstat ## Build the pinned code generators, linter and benchstat into bin/tools

$(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc: .tools/go.mod .tools/go.sum
	cd .tools && $(GO) build -o ../$(TOOLS)/ github.com/bufbuild/buf/cmd/buf google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

$(TOOLS)/golangci-lint: .tools/go.mod .tools/go.sum
	cd .tools && $(GO) build -o ../$(TOOLS)/ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

$(TOOLS)/benchstat: .tools/go.mod .tools/go.sum ## Build benchstat (compare benchmark runs, see docs/BENCHMARKS.md)
	cd .tools && $(GO) build -o ../$(TOOLS)/ golang.org/x/perf/cmd/benchstat

proto: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## Lint proto/ and regenerate sdk/internal/pb (offline, pinned tools)
	PATH="$(CURDIR)/$(TOOLS):$$PATH" buf lint
	rm -rf sdk/internal/pb
	PATH="$(CURDIR)/$(TOOLS):$$PATH" buf generate

# proto/baseline.json is the v1 protocol as plugins in the wild may speak
# it: buf breaking checks proto/ against that file, not against a branch
# (on main, main is the change itself). Additions pass without touching it.
proto-check: proto ## Fail when generated code is stale or proto/ breaks v1 compatibility
	PATH="$(CURDIR)/$(TOOLS):$$PATH" buf breaking --against proto/baseline.json
	@git diff --exit-code -- sdk/internal/pb || { echo "sdk/internal/pb is stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- sdk/internal/pb)" || { echo "untracked generated files: run 'make proto' and commit"; exit 1; }

proto-baseline: $(TOOLS)/buf ## Record proto/ as the v1 compatibility baseline (when a release ships its additions)
	PATH="$(CURDIR)/$(TOOLS):$$PATH" buf build --exclude-imports -o proto/baseline.json

lint: $(TOOLS)/golangci-lint ## gofmt, go vet and golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^sdk/internal/pb/')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(TOOLS)/golangci-lint run ./...

clean: ## Remove build output
	rm -rf $(BIN)

.PHONY: help build run test bench web-vendor screenshots tools proto proto-check proto-baseline lint clean
