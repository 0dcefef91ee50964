# uaaf — build, test and demo. `make help` lists the targets.

export PATH := $(PATH):/usr/local/go/bin
GO       ?= go
BIN      := bin
KDIR     ?=
KMOD_ARGS := $(if $(KDIR),KDIR=$(KDIR))
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X github.com/uaaf/uaaf/cmd/internal/command.Version=$(VERSION)"

PREFIX   ?= /usr/local
DESTDIR  ?=

.PHONY: all build guest docs install uninstall generate check-generate deps deps-kmod deps-e2e demo test test-short test-race bench fuzz fuzz-doc soak lint \
	kmod kmod-check kmod-test clean help

all: build guest ## build bin/uaaf, the manifest tool and every guest image

# uaaf itself is static (no cgo, no libc to load) and leaves out urfave/cli's
# man-page generator: both are measurable in a cold start.
build: ## build bin/uaaf, bin/uaaf-ctl (the daemon and tools uaaf runs) and bin/uaaf-mftgen
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs $(GOFLAGS_BUILD) -o $(BIN)/uaaf ./cmd/uaaf
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs $(GOFLAGS_BUILD) -o $(BIN)/uaaf-ctl ./cmd/uaaf-ctl
	@# uaaf-mftgen is replaced only when it changes: every manifest, hence
	@# every guest image, depends on it.
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/uaaf-mftgen.new ./tools/mftgen
	@if cmp -s $(BIN)/uaaf-mftgen.new $(BIN)/uaaf-mftgen; then rm $(BIN)/uaaf-mftgen.new; \
		else mv $(BIN)/uaaf-mftgen.new $(BIN)/uaaf-mftgen; fi

guest: build ## build the guest SDK, guest images (guest/build) and library functions (libfuncs/build)
	$(MAKE) -C guest MFTGEN=../$(BIN)/uaaf-mftgen
	$(MAKE) -C libfuncs MFTGEN=../$(BIN)/uaaf-mftgen

docs: build ## the man page and bash/zsh completion, generated from the command definitions: bin/uaaf.1, bin/uaaf.bash, bin/_uaaf
	$(GO) run ./cmd/internal/clidoc -o $(BIN)

install: all docs ## install uaaf, the guest SDK, the library and guest images, man page, completion under $(DESTDIR)$(PREFIX) (default /usr/local)
	tools/install.sh install "$(DESTDIR)$(PREFIX)"

uninstall: ## remove exactly what make install put under $(DESTDIR)$(PREFIX) (its manifest, share/uaaf/install-manifest)
	tools/install.sh uninstall "$(DESTDIR)$(PREFIX)"

generate: ## regenerate hypervisor/uaafabi/trampoline_gen.go from guest/trampoline/trampoline.S
	$(GO) run ./tools/trampgen

check-generate: generate ## fail if generated files are out of date
	git diff --exit-code hypervisor/uaafabi/trampoline_gen.go

deps: ## install missing build packages (as root, via apt-get)
	tools/install-deps.sh

deps-kmod: ## also kernel headers and sparse, for kmod/
	tools/install-deps.sh --kmod

deps-e2e: ## also containerd and ctr, for the containerd shim's end-to-end test
	tools/install-deps.sh --e2e

demo: deps all ## build everything and run the main job: the daemon serving sessions that share preloaded library functions
	tools/demo/demo.sh $(BIN)

# Pure packages whose concurrency is their job also run under the race
# detector on every `make test` (a few seconds); `make test-race` runs all.
RACE_PKGS := ./libfuncs/

test: deps-kmod deps-e2e all kmod-check kmod-test ## everything: kmod build+sparse+EPT tests, Go unit/fuzz-seed/KVM end-to-end tests
	UAAF_REQUIRE_KVM=1 $(GO) test -count=1 ./...
	$(GO) test -race -count=1 $(RACE_PKGS)

test-short: build guest ## tests without the KVM requirement (KVM tests skip where /dev/kvm is absent)
	$(GO) test -short ./...

test-race: deps-e2e guest ## tests under the race detector
	UAAF_REQUIRE_KVM=1 $(GO) test -race -count=1 ./...

bench: all ## benchmarks (ratios against baselines measured in the same run)
	$(GO) test -run='^$$' -bench=. -benchtime=20x ./...

# The soak and fault tests at full size (UAAF_SOAK=1): 10 000 invocations,
# 1 000 at once with faulty libraries, kill -9 of a real daemon. One to two
# and a half minutes here; `make test` runs the same tests at a tenth of the size.
SOAK_RUN := ^(TestSoak|TestFaultSoak|TestClientGone|TestServeKill9)$$

soak: build guest ## long soak and fault tests of the daemon (docs/reliability.md), 1–2.5 min
	UAAF_SOAK=1 UAAF_REQUIRE_KVM=1 $(GO) test -count=1 -timeout 15m -v -run '$(SOAK_RUN)' ./session/daemon/ ./cmd/internal/ctlapp/

FUZZTIME ?= 8s

fuzz: ## run every fuzz target (go test -list) for FUZZTIME each (default 8s; ~4 min for 27 targets); see docs/fuzzing.md
	GO=$(GO) FUZZTIME=$(FUZZTIME) tools/fuzz.sh

fuzz-doc: ## rewrite the table of fuzz targets in docs/fuzzing.md
	$(GO) run ./tools/fuzzlist -write docs/fuzzing.md

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
