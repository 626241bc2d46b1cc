# mk/fuzz.mk -- `make fuzz`: the libFuzzer smoke target.
# Owns: building build/fuzz/fuzz_module (clang-16, libFuzzer + ASan +
# UBSan, linked against the `make asan` library, which carries coverage hooks) and
# running it for FUZZ_SECONDS (default 60). Does not own: the target's code
# (tests/fuzz/fuzz_module.c) or the seeds (tests/fuzz/run.sh).
include mk/vars.inc

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-16
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: fuzz fuzz-build fuzz-lib
fuzz:
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# The library first (a sub-make), then the target linked against it.
fuzz-build: fuzz-lib
	@$(MAKE) --no-print-directory build/fuzz/fuzz_module

# The engine with coverage instrumentation: the ASan+UBSan build (`make
# asan`) carries libFuzzer's coverage hooks, so one build serves both.
fuzz-lib:
	@$(MAKE) --no-print-directory $(KT_JOBS) asan

build/fuzz/fuzz_module: tests/fuzz/fuzz_module.c build/asan/libkrait.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -std=gnu11 -Iinclude $(WARN) \
	  -o $@ $< build/asan/libkrait.a $(LDLIBS)
