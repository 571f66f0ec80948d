# openGPSoC. `make demo` and `make test` are all a new machine needs.
GO      ?= go
BIN     := bin/gpsoc
PKGS    := ./...
export CGO_ENABLED ?= 0

.PHONY: build test bench bench-full man lint demo clean golden

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/gpsoc

test: build
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory man-check

# Fast benchmark tiers (a few minutes); figures and ratios are printed.
bench: build
	GPSOC_BENCH_TIER=fast $(GO) run ./internal/benchrun

# Million-scale tiers.
bench-full: build
	GPSOC_BENCH_TIER=full $(GO) run ./internal/benchrun

man:
	$(GO) run ./internal/mangen -out man

man-check:
	@tmp=$$(mktemp -d) && $(GO) run ./internal/mangen -out $$tmp && \
	if ! diff -r -q man $$tmp >/dev/null; then echo "man/ is stale: run make man" >&2; diff -r man $$tmp | head -20 >&2; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Builds and opens the workstation on a generated demo practice (created once).
demo: build
	./$(BIN) demo

# Update golden files of the packages that have them.
golden:
	UPDATE_GOLDEN=1 $(GO) test ./commands/ ./tui/...

clean:
	rm -rf bin .cache
