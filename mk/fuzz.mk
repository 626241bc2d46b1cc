# mk/fuzz.mk -- `make fuzz`: the libFuzzer smoke target.
# Owns: building build/fuzz/fuzz_module (clang-16, libFuzzer + ASan +
# UBSan, engine compiled with coverage into build/fuzz/libkrait.a) and
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

# The engine with coverage instrumentation (same sources and rules as the
# release build, in build/fuzz/obj).
fuzz-lib:
	@$(MAKE) --no-print-directory $(KT_JOBS) B=build/fuzz CC=$(FUZZ_CC) \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" build/fuzz/libkrait.a

build/fuzz/fuzz_module: tests/fuzz/fuzz_module.c build/fuzz/libkrait.a
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -std=gnu11 -Iinclude $(WARN) \
	  -o $@ $< build/fuzz/libkrait.a $(LDLIBS)
