# Millrace: `make run` and `make test` are the two commands (see README.md).
BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR  ?= ./data
LISTEN    ?= 127.0.0.1:4580

.PHONY: deps configure build run test unit e2e bench fuzz clean format

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

# The HTTP request parser under libFuzzer (clang), for FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install-deps.sh fuzz
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-fuzz --target http_parser_fuzz
	@mkdir -p build-fuzz/corpus
	build-fuzz/bin/http_parser_fuzz -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
