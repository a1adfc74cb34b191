# castgate: thin wrapper over CMake + ctest. See README.md.
JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
FUZZDIR   ?= build-fuzz
VGDIR     ?= build-vg
FUZZ_SECONDS ?= 600
SOAK_MINUTES ?= 30
SOAK_LINKS   ?= 50
FLOW_SEEDS   ?= 200000

.PHONY: all deps build test demo bench fuzz soak model install clean format valgrind package

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Tests: ASan+UBSan, -Werror, the whole ctest suite; ctest's summary is the last line.
test: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# Valgrind memcheck (not part of make test): a Debug build without sanitizers
# in $(VGDIR), every unit test, and castgate serve under interop traffic.
valgrind: deps
	@bash scripts/valgrind.sh $(VGDIR) $(VG_INTEROP)

demo: build
	@bash scripts/demo.sh

# Benchmarks (bench/README.md; never part of make test): the extra packages,
# then every part or PARTS="relay codec"; BENCH_QUICK=1 for a short smoke run.
bench: build
	@bash scripts/deps.sh bench
	@PARTS="$(PARTS)" bash bench/run.sh

fuzz: deps
	@cmake -S . -B $(FUZZDIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCG_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(FUZZDIR) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZDIR) $(FUZZ_SECONDS)

# Soak (not part of make test): SOAK_MINUTES of mixed traffic over SOAK_LINKS
# links through two gateways with periodic faults; RSS/fds must stay flat and
# every message be applied exactly once, in order. See docs/soak.md.
soak: build
	@bash scripts/soak/soak.sh --minutes $(SOAK_MINUTES) --links $(SOAK_LINKS)

# The flow core's model-based test (tests/unit/test_flow_model.c) over
# FLOW_SEEDS seeds (make test runs 2000); FLOW_SEED=S replays one with its trace.
model: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS) --target test_flow_model
	@FLOW_SEEDS=$(FLOW_SEEDS) $(ASAN)/bin/test_flow_model

# Debian packages (docs/systemd.md): castgate, libcastgate0, libcastgate-dev,
# built by dpkg-buildpackage in a copy of the tree; the .debs land in $(DEBDIR).
DEBDIR ?= build-deb
package: deps
	@bash scripts/package.sh $(DEBDIR)

install: build
	@cmake --install $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf $(BUILD) $(ASAN) $(FUZZDIR) $(VGDIR) $(DEBDIR)
