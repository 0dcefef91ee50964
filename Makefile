# uaaf — build, test and demo. `make help` lists the targets.

export PATH := $(PATH):/usr/local/go/bin
GO       ?= go
BIN      := bin
KDIR     ?=
KMOD_ARGS := $(if $(KDIR),KDIR=$(KDIR))
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X github.com/uaaf/uaaf/cmd/internal/command.Version=$(VERSION)"

.PHONY: all build guest generate check-generate deps deps-kmod demo test test-short test-race bench fuzz lint \
	kmod kmod-check kmod-test clean help

all: build guest ## build bin/uaaf, the manifest tool and every guest image

# uaaf itself is static (no cgo, no libc to load) and leaves out urfave/cli's
# man-page generator: both are measurable in a cold start.
build: ## build bin/uaaf, bin/uaaf-ctl (the daemon and tools uaaf runs) and bin/uaaf-mftgen
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs $(GOFLAGS_BUILD) -o $(BIN)/uaaf ./cmd/uaaf
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs $(GOFLAGS_BUILD) -o $(BIN)/uaaf-ctl ./cmd/uaaf-ctl
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/uaaf-mftgen ./tools/mftgen

guest: build ## build the guest SDK, guest images (guest/build) and library functions (libfuncs/build)
	$(MAKE) -C guest MFTGEN=../$(BIN)/uaaf-mftgen
	$(MAKE) -C libfuncs MFTGEN=../$(BIN)/uaaf-mftgen

generate: ## regenerate hypervisor/uaafabi/trampoline_gen.go from guest/trampoline/trampoline.S
	$(GO) run ./tools/trampgen

check-generate: generate ## fail if generated files are out of date
	git diff --exit-code hypervisor/uaafabi/trampoline_gen.go

deps: ## install missing build packages (as root, via apt-get)
	tools/install-deps.sh

deps-kmod: ## also kernel headers and sparse, for kmod/
	tools/install-deps.sh --kmod

demo: deps all ## build everything and run the demo: a session calling four shared library functions
	$(BIN)/uaaf run --mem=8 --stats \
		--lib base64=libfuncs/build/base64.hvt --lib sha256=libfuncs/build/sha256.hvt \
		--lib crc32=libfuncs/build/crc32.hvt --lib sort=libfuncs/build/sort.hvt \
		guest/build/demo.hvt

# Pure packages whose concurrency is their job also run under the race
# detector on every `make test` (a few seconds); `make test-race` runs all.
RACE_PKGS := ./libfuncs/

test: deps-kmod all kmod-check kmod-test ## everything: kmod build+sparse+EPT tests, Go unit/fuzz-seed/KVM end-to-end tests
	UAAF_REQUIRE_KVM=1 $(GO) test -count=1 ./...
	$(GO) test -race -count=1 $(RACE_PKGS)

test-short: build guest ## tests without the KVM requirement (KVM tests skip where /dev/kvm is absent)
	$(GO) test -short ./...

test-race: guest ## tests under the race detector
	UAAF_REQUIRE_KVM=1 $(GO) test -race -count=1 ./...

bench: all ## benchmarks (ratios against baselines measured in the same run)
	$(GO) test -run='^$$' -bench=. -benchtime=20x ./...

FUZZ_PKGS := ./hypervisor/hvt/ ./hypervisor/monitor/ ./hypervisor/uaafabi/ ./tools/mftgen/ ./session/sched/ ./tools/trace/ ./tools/bench/procmem/ ./tools/bench/report/ \
	./tools/bench/fig10/ ./tools/bench/served/

fuzz: ## run every fuzz target for 20 s each
	@for p in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
			echo "== $$p $$t"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=20s -fuzzminimizetime=1s $$p || exit 1; \
		done; done

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet, staticcheck, go.mod tidiness, unsafe only in *_unsafe.go
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@bad=$$(git ls-files '*.go' | grep -v '_unsafe\(_test\)\?\.go$$' | xargs grep -l '^[[:space:]]*"unsafe"$$\|^import "unsafe"$$'); \
		test -z "$$bad" || { echo "unsafe imported outside *_unsafe.go: $$bad"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

kmod: ## build the kernel module against KDIR (default: an installed /lib/modules/*/build)
	$(MAKE) -C kmod $(KMOD_ARGS)

kmod-check: ## build kmod with W=1 -Werror and run sparse
	$(MAKE) -C kmod check $(KMOD_ARGS)

kmod-test: ## run the userspace tests of the module's EPT logic
	$(MAKE) -C kmod test

clean: ## remove build outputs
	rm -rf $(BIN)
	$(MAKE) -C guest clean
	$(MAKE) -C libfuncs clean
	-$(MAKE) -C kmod clean $(KMOD_ARGS) 2>/dev/null

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
