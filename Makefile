# Makefile -- the two entry points a newcomer needs, over CMake.
#   make run     install missing Debian packages, build, run maacd + maac-sim on the embedded default
#   make check   install missing Debian packages, build, run every test (normal and ASan+UBSan builds)
# Other targets: build, check-fast (normal build only), check-asan, bench, deb, fuzz, clean,
#   plots-deps (python3-matplotlib, for plotting only), plots (the figures of
#   docs/results.md from the data in docs/data/: scripts/make-plots.sh).
#   make fuzz    build the libFuzzer targets (tests/fuzz) with clang and run each for
#                FUZZ_SECONDS (default 120); crashes land in build-fuzz/crash-*

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
# ccache, when installed, shares compiled objects between build trees (not required)
LAUNCHER   := $(if $(shell command -v ccache),-DCMAKE_C_COMPILER_LAUNCHER=ccache)

.PHONY: all deps bench-deps build run check check-fast check-asan bench deb fuzz clean plots-deps plots

all: build

deps:
	@bash packaging/install-deps.sh

# the benchmarks' extra packages (python3-torch for bench_learner's PyTorch reference)
bench-deps:
	@bash packaging/install-deps.sh --bench

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# make run builds only the programs it runs (tests and benchmarks: make check / bench)
run: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target maacd maacctl maac-sim
	@bash scripts/run-default.sh $(BUILD)

check-fast: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAAC_SANITIZE=ON $(LAUNCHER)

check-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 2 --timeout 900 -LE slow

check: check-fast check-asan

bench: build bench-deps
	@bash scripts/bench-all.sh $(BUILD)

plots-deps:
	@bash packaging/install-deps.sh --plots

plots: plots-deps build
	@bash scripts/make-plots.sh $(BUILD)

deb: deps
	cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DMAAC_NATIVE=OFF -DMAAC_BUILD_TESTS=OFF
	cmake --build build-deb -j $(JOBS)
	cd build-deb && cpack -G DEB

FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 120
FUZZ_TARGETS := wire ckpt config

fuzz:
	@bash packaging/install-deps.sh --fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAAC_SANITIZE=ON -DMAAC_FUZZ=ON \
		-DMAAC_NATIVE=OFF $(LAUNCHER)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus-$$t && cp tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus-$$t/; \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp OPENBLAS_NUM_THREADS=1 \
		$(FUZZ_BUILD)/tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_BUILD)/corpus-$$t tests/fuzz/regress/$$t; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-deb $(FUZZ_BUILD)
