# openGPSoC. `make demo` and `make test` are all a new machine needs.
GO      ?= go
BIN     := bin/gpsoc
PKGS    := ./...
export CGO_ENABLED ?= 0

.PHONY: build test bench bench-full man lint demo clean golden fuzz fuzz-ci

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/gpsoc

test: build
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory man-check

# Fuzzing: every parser of outside input (FHIR, imports, NHS numbers, dates,
# doses, terminology files, keymaps, rules, ECL, FHIR search). `make fuzz`
# runs each target for FUZZTIME; `make fuzz-ci` (CI) for a few seconds each.
# A failing input is written to the package's testdata/fuzz/ and, committed,
# runs with every `go test` from then on.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./fhir:FuzzSplitBundle ./fhir:FuzzParseResource \
	./interop:FuzzImportPatientsCSV ./interop:FuzzImportNDJSON ./clinical:FuzzDoseInWords \
	./clinical:FuzzParseBP ./clinical:FuzzParseRuleFile \
	./record:FuzzNormaliseNHS ./record:FuzzParseDate ./record:FuzzNormalisePostcode ./record:FuzzTextSafety \
	./terminology:FuzzImportRF2 ./terminology:FuzzImportDMD ./terminology:FuzzImportCTV3 \
	./terminology:FuzzImportRead2 ./terminology:FuzzImportCodelist ./terminology:FuzzParseECL ./terminology:FuzzECL \
	./keymaps:FuzzLoadUserKeymap ./server:FuzzSearchParams \
	./find:FuzzPatientsVsReference ./find:FuzzTermsVsReference \
	./interop/hl7v2:FuzzORU

# Go's fuzzer can stop a run with "context deadline exceeded" when an input
# is still being minimised as the time runs out, with no failing input found:
# that target is run once more; a real failure (an input written) never is.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  out=$$($(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) 2>&1) && { echo "$$out" | tail -1; continue; }; \
	  echo "$$out"; \
	  if echo "$$out" | grep -q "context deadline exceeded" && ! echo "$$out" | grep -q "Failing input written"; then \
	    echo "fuzz $$pkg $$fn: stopped by the fuzzer's deadline with no failing input; once more"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME); \
	  else exit 1; fi; done

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# Fast benchmark tiers (a few minutes); figures and ratios are printed.
bench: build
	GPSOC_BENCH_TIER=fast $(GO) run ./internal/benchrun

# Million-scale tiers. The registers benchmark builds (once, into .cache/bench)
# a 1,000,000-patient practice with 10-year histories: about 41 GB on disk,
# half an hour; it checks for about 46 GB free first and says so.
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
