# Millrace: `make run` and `make test` are the two commands (see README.md).
BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR  ?= ./data
LISTEN    ?= 127.0.0.1:4580

.PHONY: deps configure build run test unit e2e bench fuzz sanitize clean format

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null

build: configure
	@cmake --build $(BUILD)

run: build
	$(BUILD)/bin/millrace serve --data-dir $(DATA_DIR) --listen $(LISTEN)

# Every test: unit tests (GoogleTest) and end-to-end tests (boto3, AWS CLI) under ctest.
test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	@cd $(BUILD) && ctest --output-on-failure -L e2e

bench: build
	@bash scripts/install-deps.sh bench
	@bash bench/run.sh

# Every fuzz target (tests/fuzz/*_fuzz.cc) under libFuzzer (clang), FUZZ_SECONDS each
# (default 60), from its seeds (tests/fuzz/seeds/<name>/) and a corpus kept in build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = http_parser_fuzz sigv4_fuzz kinesis_json_fuzz control_body_fuzz log_frame_fuzz
fuzz:
	@bash scripts/install-deps.sh fuzz
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-fuzz --target $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$t \
	    $$( [ -d tests/fuzz/seeds/$$t ] && echo tests/fuzz/seeds/$$t ) || exit 1; \
	done

# The unit tests (and the fuzz smoke tests) built with AddressSanitizer and UBSan.
sanitize:
	@bash scripts/install-deps.sh
	@cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-sanitize
	@cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -L unit -E objstore_s3

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
