# mk/bench.mk -- `make bench`: benchmark kernels (bench/*.c) native, under
# krait (AOT in both bounds modes, interpreter) and under Node's WASI; on
# -nostdlib builds native vs krait AOT vs wasm2c (Debian's wabt, compiled
# with the AOT tier's own compiler flags), and wasm-interp vs the
# interpreter; `make bench-python`: Python workloads (bench/python/*.py)
# under native CPython 3.11, `krait python` (AOT and interpreter) and
# Node's WASI; `make bench-serve`:
# `krait serve` (bench/serve/) vs gunicorn on loopback with wrk (throughput,
# latency, cold start, memory per in-flight request, artifact size);
# `make bench-kv`: a one-write request's latency per store durability;
# `make bench-sqlite`: SQLite-binding queries/s vs native sqlite3;
# `make bench-outbound`: a handler calling an upstream, vs gunicorn.
# Owns: building build/bench/{native,wasi,nowasi,nowasi-full,native-small,
# wasm2c}/.
# Does not own: timing and tables (bench/run.sh, bench/python.sh,
# bench/serve.sh), building python.wasm (scripts/build-python.sh) or
# build/test/host/bin/test_app (its rule is in mk/tests.mk).
include mk/vars.inc

BENCH_KERNELS := $(filter-out nolibc,$(patsubst bench/%.c,%,$(sort $(wildcard bench/*.c))))
BENCH_BD      := build/bench
BENCH_BINS    := $(BENCH_KERNELS:%=$(BENCH_BD)/native/%) \
                 $(BENCH_KERNELS:%=$(BENCH_BD)/native-small/%) \
                 $(BENCH_KERNELS:%=$(BENCH_BD)/wasi/%.wasm) \
                 $(BENCH_KERNELS:%=$(BENCH_BD)/nowasi/%.wasm) \
                 $(BENCH_KERNELS:%=$(BENCH_BD)/nowasi-full/%.wasm)

# wasm2c baseline: the -nostdlib kernels through Debian's wasm2c and its
# runtime (wasm-rt-impl.c, shipped by the wabt package), compiled with the
# flags the AOT tier compiles its own C with (KAOT_CFLAGS in
# src/aot/build.c, read from there), in wasm2c's two bounds modes: guard
# pages (its default) and explicit checks. Left out when wabt lacks them.
W2C_RT     := $(firstword $(wildcard /usr/share/wabt/wasm2c/wasm-rt-impl.c /usr/src/wasm2c/wasm-rt-impl.c))
W2C        := $(shell command -v wasm2c 2>/dev/null)
KAOT_FLAGS := $(shell sed -n 's/^\#define KAOT_CFLAGS "\([^"]*\)".*$$/\1/p' src/aot/build.c)
ifneq ($(and $(W2C_RT),$(W2C)),)
BENCH_BINS += $(BENCH_KERNELS:%=$(BENCH_BD)/wasm2c/%-guard) $(BENCH_KERNELS:%=$(BENCH_BD)/wasm2c/%-explicit)
endif

.PHONY: bench bench-build bench-interrupts bench-packages bench-python bench-serve bench-kv bench-sqlite bench-outbound
bench: all bench-build
	@sh bench/run.sh

bench-build: $(BENCH_BINS)

$(BENCH_BD)/native/%: bench/%.c bench/bench.h
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -Wall -o $@ $< -lm

$(BENCH_BD)/native-small/%: bench/%.c bench/bench.h
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -DBENCH_SMALL -Wall -o $@ $< -lm

$(BENCH_BD)/wasi/%.wasm: bench/%.c bench/bench.h $(WASI_COMPAT)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Wall -o $@ $< $(WASI_COMPAT)

# No WASI, no libc: `run` is exported and called directly.
$(BENCH_BD)/nowasi/%.wasm: bench/%.c bench/bench.h bench/nolibc.c
	@mkdir -p $(dir $@)
	$(WASI_CC) --target=wasm32 -nostdlib -O2 -DBENCH_NO_MAIN -DBENCH_SMALL -Wall \
	  -Wl,--no-entry -Wl,--export=run -o $@ $< bench/nolibc.c

# The same -nostdlib kernels with the full workloads (native vs AOT vs wasm2c).
$(BENCH_BD)/nowasi-full/%.wasm: bench/%.c bench/bench.h bench/nolibc.c
	@mkdir -p $(dir $@)
	$(WASI_CC) --target=wasm32 -nostdlib -O2 -DBENCH_NO_MAIN -Wall \
	  -Wl,--no-entry -Wl,--export=run -o $@ $< bench/nolibc.c

.PRECIOUS: $(BENCH_BD)/wasm2c/%/k.c
$(BENCH_BD)/wasm2c/%/k.c: $(BENCH_BD)/nowasi-full/%.wasm
	@mkdir -p $(dir $@)
	$(W2C) $< -n k -o $@

$(BENCH_BD)/wasm2c/%-guard: $(BENCH_BD)/wasm2c/%/k.c bench/wasm2c/main.c
	$(NATIVE_CC) $(KAOT_FLAGS) -I$(dir $<) -I$(dir $(W2C_RT)) -o $@ bench/wasm2c/main.c $< $(W2C_RT) -lm

$(BENCH_BD)/wasm2c/%-explicit: $(BENCH_BD)/wasm2c/%/k.c bench/wasm2c/main.c
	$(NATIVE_CC) $(KAOT_FLAGS) -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 -I$(dir $<) -I$(dir $(W2C_RT)) \
	  -o $@ bench/wasm2c/main.c $< $(W2C_RT) -lm

# The cost of the fuel/deadline checks with no limit set: the same
# kernels (and PYTHON_WORKLOADS under AOT) under a benchmark-only build
# with the checks compiled out, in the interpreter and in the AOT code it
# generates (objects under their own cache key).
bench-interrupts: all bench-build
	@$(MAKE) --no-print-directory B=build/nocheck CFLAGS="-O2 -g -DKRAIT_NO_INTERRUPT_CHECKS=1" all
	@sh bench/interrupts.sh

# python.wasm into build/python/ first: build-python.sh copies its cached
# build (about a second) or builds it (minutes, needs `make deps`' python
# packages: sh scripts/bootstrap.sh python).
bench-python: all
	@sh scripts/build-python.sh
	@sh bench/python.sh

# package sets: markupsafe's and msgpack's C extensions in krait against
# their pure-Python fallbacks and native (bench/packages.sh); builds the
# set first (cached)
bench-packages: all
	@sh scripts/build-python.sh
	@/usr/bin/python3.11 scripts/build-packages.py markupsafe,msgpack
	@sh bench/packages.sh

# Needs wrk and gunicorn (sh scripts/bootstrap.sh). test_app is built for
# its in-process cold-start figure. BENCH_DURATION=3s for a quick run.
bench-serve: all $(TB)/host/bin/test_app
	@sh scripts/build-python.sh
	@sh bench/serve.sh

# One KV write per request under each store durability (bench/kv-write.sh;
# needs wrk). BENCH_DURATION, BENCH_ROUNDS.
bench-kv: all
	@sh scripts/build-python.sh
	@sh bench/kv-write.sh

# SQLite-binding queries per second vs the stdlib sqlite3 natively
# (bench/sqlite.sh). BENCH_ROUNDS.
bench-sqlite: all
	@sh scripts/build-python.sh
	@sh bench/sqlite.sh

# A handler calling an upstream on loopback: krait serve vs gunicorn with
# requests (bench/outbound.sh; needs wrk, gunicorn, python3-requests).
bench-outbound: all
	@sh scripts/build-python.sh
	@sh bench/outbound.sh
