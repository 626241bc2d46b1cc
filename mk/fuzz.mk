# mk/fuzz.mk -- `make fuzz`: the libFuzzer smoke targets.
# Owns: building build/fuzz/fuzz_module and the parser targets
# build/fuzz/fuzz_{toml,http,bundle,snapshot,conn,imports,aot,net,redis,pg,gguf,llm,remote} (clang-16, libFuzzer + ASan + UBSan, linked
# against the `make asan` libraries, which carry coverage hooks;
# fuzz_module needs only the engine, build/asan/libkrait.a) and running
# them for FUZZ_SECONDS (default 60; the parsers a quarter each). Does not
# own: the targets' code (tests/fuzz/fuzz_*.c) or the seeds
# (tests/fuzz/run.sh, tests/fuzz/run_parser.sh).
include mk/vars.inc

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-16
FUZZ_SAN     := $(SAN_FLAGS)

FUZZ_PARSERS := toml http bundle snapshot conn imports aot net redis pg gguf llm remote

.PHONY: fuzz fuzz-build fuzz-lib
fuzz:
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)
	@for p in $(FUZZ_PARSERS); do sh tests/fuzz/run_parser.sh $$p $$(( $(FUZZ_SECONDS) / 4 )) || exit 1; done

# The library first (a sub-make), then the targets linked against it.
fuzz-build: fuzz-lib
	@$(MAKE) --no-print-directory build/fuzz/fuzz_module $(FUZZ_PARSERS:%=build/fuzz/fuzz_%)

# The engine with coverage instrumentation: the ASan+UBSan build (`make
# asan`) carries libFuzzer's coverage hooks, so one build serves both.
fuzz-lib:
	@$(MAKE) --no-print-directory $(KT_JOBS) asan

build/fuzz/fuzz_module: tests/fuzz/fuzz_module.c build/asan/libkrait.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -std=gnu11 -Iinclude $(WARN) \
	  -o $@ $< build/asan/libkrait.a $(CORE_LDLIBS)

# The parser targets see krait's internal headers (src/).
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/asan/libkrait.a build/asan/libkrait-host.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) \
	  -o $@ $< build/asan/libkrait-host.a build/asan/libkrait.a $(LDLIBS)
