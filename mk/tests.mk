# mk/tests.mk -- `make test` and its tiers (included by the Makefile).
# Owns: building test binaries and modules, running every tier in order
# and the final aggregated line. Does not own: the engine build (Makefile),
# the spec runner (tests/spec.sh), the fuzz target build (mk/fuzz.mk).
#
#   make test                 every tier; ends with "N passed, N failed"
#   make test TIERS="unit guest"   only those tiers (same total line)
#   make test-<tier>          one tier, e.g. make test-limits
#
# Tiers, in order, and what one counted item is:
#   build               the release build (counted only when it fails)
#   unit                one test function in tests/unit/test_*.c, and one
#                       check of the embedding example (test_embed.sh)
#   spec-guard          the spec runner's own totals (`krait wast`)
#   spec-explicit         "      (explicit bounds checks)
#   spec-aot-guard      the spec suite under the AOT tier (native code;
#   spec-aot-explicit   one compiler run per script, cached in
#                       $(TB)/aot-cache), each bounds mode
#   wasi-full           one check in tests/wasi/run.sh (full WASI, sandbox)
#   guest               one C program per bounds mode, native vs krait
#   guest-aot           the same programs under the AOT tier (native code,
#                       cached in $(TB)/aot-cache), output byte-identical
#   limits              one case per bounds mode (tests/limits/run.sh)
#   limits-aot          the same cases under the AOT tier
#   wasi-full-aot       wasi-full under the AOT tier (KRAIT_TIER=aot)
#   aot                 one check of the AOT cache (tests/aot/cache.sh:
#                       reuse, damaged/foreign objects rebuilt, auto tier)
#   aot-battery         one test function in tests/aot/test_*.c, in one
#                       process through the C API: the sandbox battery
#                       (traps against the interpreter's messages in both
#                       bounds modes, damaged and swapped cache objects)
#                       and snapshots across the tiers
#   asan-unit           unit tests linked with build/asan/libkrait{,-host}.a
#   asan-spec-guard     spec suite run by build/asan/krait
#   asan-spec-explicit    "
#   fuzz                one item: libFuzzer smoke run found nothing
#   host                one test function in tests/host/test_*.c (server
#                       components: manifest TOML, HTTP, key-value, apps;
#                       after python: test_app.c boots build/python)
#   asan-host           the same on the ASan+UBSan build
#   fuzz-toml, fuzz-http, fuzz-bundle, fuzz-snapshot  one item each: the parser fuzzers found nothing
#   fuzz-conn           one item: byte streams split at random points through
#                       the server's connection layer over a real socket
#   fuzz-aot            one item: decode -> validate -> AOT translation to C
#                       (tests/fuzz/fuzz_aot.c) found nothing
#   fuzz-aot-sample     a sample of fuzz-aot's inputs (its corpus and seeds)
#                       compiled by `krait compile` in both bounds modes: a
#                       valid module's C must compile (tests/fuzz/aot_sample.sh)
#   fuzz-imports        one item: every "krait" host import driven from a
#                       guest with adversarial arguments
#   fuzz-net            one item: the outbound policy (tests/fuzz/fuzz_net.c:
#                       guest URLs, allow-list entries and --allow-net
#                       values, matching, the address policy) found nothing
#   fuzz-redis          one item: the redis binding's wire format
#                       (tests/fuzz/fuzz_redis.c: command requests, server
#                       replies streamed into the result) found nothing
#   fuzz-pg             one item: the postgres binding's guest input
#                       (tests/fuzz/fuzz_pg.c: addresses, libpq settings,
#                       statement requests) found nothing
#   fuzz-gguf           one item: GGUF model files (tests/fuzz/fuzz_gguf.c:
#                       header, metadata, tensor infos and extents; texts
#                       tokenized with the file's vocabulary) found nothing
#   fuzz-model          one item: GGUF files as models (tests/fuzz/
#                       fuzz_model.c: kl_model_from_gguf's checks, then two
#                       tokens through the decoder or encoder) found nothing
#   fuzz-llm            one item: the llm binding's requests
#                       (tests/fuzz/fuzz_llm.c: llm.infer, llm.chat,
#                       llm.embed payloads) found nothing
#   fuzz-remote         one item: what the remote LLM backend reads from a
#                       server (tests/fuzz/fuzz_remote.c: HTTP replies whole
#                       and split, OpenAI JSON bodies) found nothing
#   diff                one csmith program at one -O level, krait's
#                       interpreter (both bounds modes) and AOT tier
#                       against Node's WASI (tests/diff/)
#   python              one check of python.wasm under krait run / krait
#                       python, and of the serve SDK (tests/sdk) under
#                       krait python (tests/python/tier.sh; first `make
#                       python`'s steps: python.wasm from the cache or
#                       built, its native code from the AOT cache or
#                       compiled, minutes), all on the AOT tier
#                       (KRAIT_TIER=aot); test-python-aot is the same
#   python-interp       the same checks on the interpreter (KRAIT_TIER=interp)
#   cpython             one test case of CPython's Lib/test, fast subset
#                       (tests/python/cpython.sh fast), on the AOT tier
#   cpython-interp      the same on the interpreter (not in TIERS: the
#                       interpreter's Python is covered by python-interp,
#                       host and the serve tier's tiers.sh; ~90 s)
#   cpython-full        the same for the whole list (only in test-full)
#   web                 one browser test (tests/web/run.mjs: the
#                       playground, input(), Stop, tracebacks, files)
#   serve               one check of `krait serve` over real sockets
#                       (tests/serve/run.sh: seed apps, limits, KV on
#                       SQLite and redis-server, kill -9 durability), on
#                       tier auto (KRAIT_TIER=auto: python.wasm as native
#                       code, doctored copies of it interpreted);
#                       tests/serve/tiers.sh checks auto runs native code
#                       and crosses tiers: artifacts built under one are
#                       served under the other
#   serve-interp        the same on the interpreter (not in TIERS: ~150 s;
#                       host's test_app boots apps interpreted)
#   cluster             one check of three `krait serve` hosts serving one
#                       artifact behind haproxy, KV in a shared redis-server
#                       and SQL in a shared PostgreSQL (spin_sdk.postgres):
#                       kill -9 of a host and rolling kill -HUP
#                       reloads under a load of writes (tests/cluster/run.sh;
#                       tier auto; about 30-45 s)
#   outbound            tests/serve/outbound.sh alone (the net.* operations
#                       from krait python and serve against real loopback
#                       servers; also part of serve, so not in TIERS)
#   llm-serve           tests/serve/llm.sh alone (LLM inference under
#                       krait serve and krait python on generated GGUF
#                       models: the issue's Spin example, env.AI, errors,
#                       the queue's 503s, deadlines; also part of serve,
#                       so not in TIERS)
#   remote-llm          tests/serve/remote_llm.sh alone (krait serve
#                       --llm-api's /v1 with curl, a second host's
#                       spin_sdk.llm on it equal to local, the remote backend
#                       against tests/llm/fake_openai.py over http and
#                       https; also part of serve, so not in TIERS)
#   http-out            tests/serve/http_out.sh alone (outbound HTTP from
#                       guest Python: spin send, fetch, requests, urllib,
#                       against real HTTP/HTTPS servers; also part of
#                       serve, so not in TIERS)
#   llm-ref             one comparison showing the LLM engine's references
#                       agree (tests/llm/check_refs.sh, no krait code): the GGUF
#                       writer's blocks against ggml's libggml-base.so, and
#                       the numpy reference against llama.cpp (node-llama-cpp,
#                       npm ci into tests/llm/node_modules) on every model
#                       tests/llm/make_models.py writes into build/llm-models/:
#                       tokens, text, greedy tokens, probabilities, embeddings
#   llm-tok             one item per op: krait's tokenizers (tests/llm/
#                       tokdump.c) against llama.cpp's on one llama and one
#                       bert model of build/llm-models/: tokens of fixed and
#                       seeded random texts, both add_special and
#                       parse_special modes, SentencePiece detokenized text
#   llm-bench           one check of `krait llm bench` (tests/llm/
#                       check_bench.sh; the target is in mk/bench-llm.mk):
#                       its greedy tokens equal `krait llm generate`'s, its
#                       counts, and bad inputs refused
#   llm                 one comparison of krait's LLM engine (`krait llm`)
#                       with both references, numpy and llama.cpp, on every
#                       generated model and type (tests/llm/run.sh): tokens,
#                       greedy tokens, probabilities, logits, embeddings,
#                       quantized models against their F32 twins
#   install             one check of `make install` into a temporary
#                       prefix, used with the source tree hidden
#                       (tests/install/run.sh: krait python, new, build,
#                       serve, --playground, a program against krait.h)
# A tier that cannot run at all (build error) counts as one failure.
#   packages            one check of package sets (tests/packages/run.sh:
#                       the markupsafe set built from its recipe, cached;
#                       its layout, the base python.wasm untouched, the C
#                       speedups in use on both tiers, markupsafe's own
#                       pytest suite under krait equal to native, errors
#                       for unbuilt sets, bad names and bad recipes)
#
#   make test-full            every tier plus cpython-full
include mk/vars.inc

TIERS ?= build unit spec-guard spec-explicit spec-aot-guard spec-aot-explicit wast-own wasi wasi-full guest guest-aot limits limits-aot aot aot-battery wasi-full-aot \
         switch asan-unit asan-spec-guard asan-spec-explicit \
         fuzz fuzz-guard fuzz-toml fuzz-http fuzz-bundle fuzz-snapshot fuzz-conn fuzz-imports fuzz-aot fuzz-aot-sample fuzz-net fuzz-redis fuzz-pg fuzz-gguf fuzz-llm fuzz-remote fuzz-model diff python python-interp packages cpython host asan-host serve cluster web llm-ref llm llm-tok llm-bench install
# Fuzz time inside `make test`: FUZZ_SECONDS when given, 60 s in CI
# (CI=true), else 15 s. `make fuzz` alone always defaults to 60 s.
TEST_FUZZ_SECONDS = $(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),$(if $(filter true,$(CI)),60,15))

.PHONY: test test-full test-packages test-llm-ref test-llm test-llm-tok test-serve test-cluster test-outbound test-llm-serve test-http-out test-web test-install test-host test-asan-host test-fuzz-toml test-fuzz-http test-fuzz-bundle test-fuzz-snapshot test-fuzz-conn test-fuzz-imports test-fuzz-aot test-fuzz-aot-sample test-fuzz-net test-fuzz-redis test-diff test-python test-python-interp test-cpython test-cpython-interp test-serve-interp test-cpython-full test-build test-unit test-spec-guard test-spec-explicit test-spec-aot-guard test-spec-aot-explicit test-fuzz-pg test-fuzz-gguf test-fuzz-llm test-remote-llm test-fuzz-remote test-fuzz-model \
        test-wasi test-wasi-full test-guest test-guest-aot test-limits test-limits-aot test-aot test-aot-battery test-wasi-full-aot test-python-aot test-asan-unit test-asan-spec-guard \
        test-asan-spec-explicit test-fuzz test-fuzz-guard test-bins asan-test-bins

test:
	@MAKE="$(MAKE)" TEST_RES="$(TEST_RES)" sh tests/run_tiers.sh $(TIERS)

test-full:
	@MAKE="$(MAKE)" TEST_RES="$(TEST_RES)" sh tests/run_tiers.sh $(TIERS) cpython-full

# kt_tier TIER,COMMAND: runs COMMAND with its output in
# build/test/out/TIER.log, shows the lines that are not "ok ...", and
# records the log's last "N passed, N failed" (none, or a failing status
# with no failure counted, records one failure).
define kt_tier
	@mkdir -p build/test/out
	@$(2) >build/test/out/$(1).log 2>&1; rc=$$?; \
	 grep -Ev '^ok ' build/test/out/$(1).log | tail -n 60; \
	 . tests/lib.sh; set -- $$(kt_counts build/test/out/$(1).log); \
	 p=$${1:-0}; f=$${2:-1}; [ $$rc -ne 0 ] && [ $$f -eq 0 ] && f=1; \
	 kt_record $(1) $$p $$f; [ $$f -eq 0 ]
endef

# ---- differential: csmith programs, krait vs V8 (tests/diff/) ------------
# DIFF_COUNT programs (default 12; seeds from 1, deterministic). The AOT
# runner compiles one object per program into build/test/diff/aot-cache
# (kept: a rerun of the same seeds reuses them).
DIFF_COUNT ?= 12
test-diff: all
	$(call kt_tier,diff,sh tests/diff/csmith.sh $(DIFF_COUNT) 1)

# ---- Python (tests/python/) ----------------------------------------------
# $KRAIT_TIER is the default tier of every krait command the scripts run;
# python.wasm's native code comes from `make python`'s steps (tier.sh).
test-python: all
	$(call kt_tier,python,env KRAIT_TIER=aot sh tests/python/tier.sh)

test-python-aot: test-python

test-python-interp: all
	$(call kt_tier,python-interp,env KRAIT_TIER=interp sh tests/python/tier.sh)

# package sets: after python (its base build), native code for the set
test-packages: all
	$(call kt_tier,packages,env KRAIT_TIER=auto bash tests/packages/run.sh)

test-cpython: all
	$(call kt_tier,cpython,env KRAIT_TIER=aot sh tests/python/cpython.sh fast krait)

test-cpython-interp: all
	$(call kt_tier,cpython-interp,env KRAIT_TIER=interp sh tests/python/cpython.sh fast krait)

# serve: tier auto, as deployed: python.wasm's native code from make python
# (tiers.sh checks it is used), the checks' doctored python.wasm copies
# interpreted (tier aot would compile each for minutes)
test-serve: all
	$(call kt_tier,serve,env KRAIT_TIER=auto sh tests/serve/tier.sh)

test-serve-interp: all
	$(call kt_tier,serve-interp,env KRAIT_TIER=interp sh tests/serve/tier.sh)

# cluster: several hosts behind haproxy, shared redis-server (and Postgres)
test-cluster: all
	$(call kt_tier,cluster,env KRAIT_TIER=auto bash tests/cluster/run.sh)

test-outbound: all
	$(call kt_tier,outbound,env KRAIT_TIER=auto bash tests/serve/outbound.sh)

test-llm-serve: all
	$(call kt_tier,llm-serve,env KRAIT_TIER=auto bash tests/serve/llm.sh)

test-remote-llm: all
	$(call kt_tier,remote-llm,env KRAIT_TIER=auto bash tests/serve/remote_llm.sh)

test-http-out: all
	$(call kt_tier,http-out,env KRAIT_TIER=auto bash tests/serve/http_out.sh)

# make install into a temporary prefix, then the installed krait alone
# (after web, so a browser build is there to install).
test-install: all
	$(call kt_tier,install,MAKE="$(MAKE)" sh tests/install/run.sh)

# The LLM engine's references against each other (tests/llm/): numpy and
# llama.cpp; needs no krait build.
test-llm-ref:
	$(call kt_tier,llm-ref,sh tests/llm/check_refs.sh)

# krait's tokenizers against llama.cpp's on the generated models: one item
# per tokenize/detokenize op (tests/llm/check_tok.sh).
$(TB)/llm/tokdump: tests/llm/tokdump.c build/libkrait.a build/libkrait-host.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) -o $@ $< build/libkrait-host.a build/libkrait.a $(LDLIBS)

test-llm-tok: all $(TB)/llm/tokdump
	$(call kt_tier,llm-tok,sh tests/llm/check_tok.sh)

test-llm: all
	$(call kt_tier,llm,sh tests/llm/run.sh build/krait)

# The browser tests: build/web in Debian's Chromium via playwright-core.
test-web: all
	$(call kt_tier,web,sh tests/web/tier.sh)

test-cpython-full: all
	$(call kt_tier,cpython-full,sh tests/python/cpython.sh full krait)

# ---- build --------------------------------------------------------------
test-build:
	@mkdir -p $(TEST_RES)
	@if $(MAKE) --no-print-directory $(KT_JOBS) all; then echo "0 0" >$(TEST_RES)/build; \
	 else echo "0 1" >$(TEST_RES)/build; exit 1; fi

# ---- unit ---------------------------------------------------------------
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HDR   := tests/unit/test.h tests/unit/fixture.h
UNIT_WASM  := $(patsubst tests/unit/wat/%.wat,$(TB)/unit/wasm/%.wasm,$(sort $(wildcard tests/unit/wat/*.wat)))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(TB)/unit/bin/%,$(UNIT_SRC))
ASAN_UNIT_BIN := $(patsubst tests/unit/%.c,$(TB)/asan-unit/bin/%,$(UNIT_SRC))
# Unit tests see only the public header.
UNIT_FLAGS  = -std=gnu11 -Iinclude -DWASM_DIR='"$(TB)/unit/wasm"' $(WARN)

$(TB)/unit/wasm/%.wasm: tests/unit/wat/%.wat
	@mkdir -p $(dir $@)
	$(WAT2WASM) $< -o $@

# Both libraries: test_snapshot.c also covers the snapshot files of
# krait_host.h. test_faults.c alone reaches past the public headers, to the
# allocator's fault injection (src/util/util.h).
$(TB)/unit/bin/%: tests/unit/%.c $(UNIT_HDR) build/libkrait.a build/libkrait-host.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(UNIT_FLAGS) -o $@ $< build/libkrait-host.a build/libkrait.a $(LDLIBS)

$(TB)/asan-unit/bin/%: tests/unit/%.c $(UNIT_HDR) build/asan/libkrait.a build/asan/libkrait-host.a
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_CFLAGS) $(UNIT_FLAGS) -o $@ $< build/asan/libkrait-host.a build/asan/libkrait.a $(LDLIBS)

$(TB)/unit/bin/test_faults $(TB)/asan-unit/bin/test_faults: UNIT_FLAGS += -Isrc

# The embedding example (examples/embed/), built as an embedder would:
# include/krait.h and libkrait.a with CORE_LDLIBS (-lm -lpthread) and
# nothing else. --whole-archive pulls in every object of the library, so
# the link fails if any of them needs a symbol outside libc, libm and
# pthread (jansson, sqlite3, hiredis, zlib, liblzma, libcrypto, or the
# host library). tests/unit/test_embed (a script) runs it and checks its
# output, in the unit and asan-unit tiers.
EMBED_FLAGS = -std=gnu11 -Iinclude $(WARN)
EMBED_WASM := $(TB)/embed/fib.wasm
$(EMBED_WASM): examples/embed/fib.wat
	@mkdir -p $(dir $@)
	$(WAT2WASM) $< -o $@

$(TB)/unit/embed: examples/embed/embed.c include/krait.h build/libkrait.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(EMBED_FLAGS) -o $@ $< -Wl,--whole-archive build/libkrait.a -Wl,--no-whole-archive $(CORE_LDLIBS)

$(TB)/asan-unit/embed: examples/embed/embed.c include/krait.h build/asan/libkrait.a
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_CFLAGS) $(EMBED_FLAGS) -o $@ $< -Wl,--whole-archive build/asan/libkrait.a -Wl,--no-whole-archive $(CORE_LDLIBS)

$(TB)/unit/bin/test_embed $(TB)/asan-unit/bin/test_embed: tests/unit/test_embed.sh
	@mkdir -p $(dir $@)
	cp $< $@ && chmod +x $@

test-bins: $(XRUN) $(UNIT_BIN) $(UNIT_WASM) $(TB)/unit/bin/test_embed $(TB)/unit/embed $(EMBED_WASM)
asan-test-bins: $(XRUN) $(ASAN_UNIT_BIN) $(UNIT_WASM) $(TB)/asan-unit/bin/test_embed $(TB)/asan-unit/embed $(EMBED_WASM)

test-unit: test-bins
	@sh tests/run_unit.sh unit $(TB)/unit/bin

# ---- host components (tests/host/) ----------------------------------------
# Tests of the server-side components (manifest, HTTP, key-value, event
# loop) that are internal to krait: unlike tests/unit/ they see src/
# headers. Each tests/host/test_*.c is one binary, run like the unit tests.
HOST_SRC  := $(sort $(wildcard tests/host/test_*.c))
HOST_BIN  := $(patsubst tests/host/%.c,$(TB)/host/bin/%,$(HOST_SRC))

$(TB)/host/bin/%: tests/host/%.c tests/unit/test.h build/libkrait.a build/libkrait-host.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests/unit $(WARN) -o $@ $< build/libkrait-host.a build/libkrait.a $(LDLIBS)

test-host: all $(HOST_BIN) $(XRUN)
	@sh tests/run_unit.sh host $(TB)/host/bin

# The same host tests on the ASan+UBSan library.
ASAN_HOST_BIN := $(patsubst tests/host/%.c,$(TB)/asan-host/bin/%,$(HOST_SRC))
$(TB)/asan-host/bin/%: tests/host/%.c tests/unit/test.h build/asan/libkrait.a build/asan/libkrait-host.a
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_CFLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests/unit $(WARN) -o $@ $< build/asan/libkrait-host.a build/asan/libkrait.a $(LDLIBS)

test-asan-host: asan-build $(XRUN)
	@$(MAKE) --no-print-directory $(ASAN_HOST_BIN)
	@$(KT_ASAN_ENV) sh tests/run_unit.sh asan-host $(TB)/asan-host/bin

# The stand-in python.wasm of test_app_faults.c (tests/host/wat/), built
# before any host test binary.
HOST_WASM := $(patsubst tests/host/wat/%.wat,$(TB)/host/wasm/%.wasm,$(sort $(wildcard tests/host/wat/*.wat)))
$(TB)/host/wasm/%.wasm: tests/host/wat/%.wat
	@mkdir -p $(dir $@)
	$(WAT2WASM) $< -o $@

$(HOST_BIN) $(ASAN_HOST_BIN): $(HOST_WASM)

# ---- spec ---------------------------------------------------------------
test-spec-guard: all $(XRUN)
	@sh tests/run_spec.sh spec-guard guard build/krait

test-spec-explicit: all $(XRUN)
	@sh tests/run_spec.sh spec-explicit explicit build/krait

# The AOT tier keeps its compiled scripts in the test tree, so a rerun
# only compiles what changed.
test-spec-aot-guard: all $(XRUN)
	@KRAIT_CACHE=$(abspath $(TB))/aot-cache sh tests/run_spec.sh spec-aot-guard guard build/krait aot

test-spec-aot-explicit: all $(XRUN)
	@KRAIT_CACHE=$(abspath $(TB))/aot-cache sh tests/run_spec.sh spec-aot-explicit explicit build/krait aot

# ---- krait's own spec-format tests (tests/wast/) -------------------------
test-wast-own: all
	@sh tests/run_wast_own.sh wast-own build/krait

# ---- WASI and CLI smoke (tests/wasi-smoke/) -----------------------------
test-wasi: all
	$(call kt_tier,wasi,sh tests/wasi-smoke/run.sh)

# ---- full WASI preview1 and the sandbox (tests/wasi/) ---------------------
# Every fd_*/path_* call and the escape battery, with openat2 and with the
# component-by-component fallback; host-side checks of the outside.
test-wasi-full: all
	$(call kt_tier,wasi-full,sh tests/wasi/run.sh)

test-wasi-full-aot: all
	$(call kt_tier,wasi-full-aot,env KRAIT_TIER=aot KRAIT_CACHE=$(abspath $(TB))/aot-cache sh tests/wasi/run.sh)

# ---- the switch-dispatch fallback (KRAIT_SWITCH_DISPATCH=1) ---------------
# Same sources built with the portable switch loop; runs the spec suite in
# guard mode and the own wast tests with it.
test-switch: $(XRUN)
	@$(MAKE) --no-print-directory $(KT_JOBS) B=build/switch \
	  CFLAGS="-O2 -g -DKRAIT_SWITCH_DISPATCH=1" all
	@sh tests/run_spec.sh switch guard build/switch/krait

# ---- guest programs -----------------------------------------------------
GUEST_NAMES := $(patsubst tests/guest/%.c,%,$(sort $(wildcard tests/guest/*.c)))
GUEST_NATIVE := $(GUEST_NAMES:%=$(TB)/guest/native/%)
GUEST_WASM   := $(GUEST_NAMES:%=$(TB)/guest/wasm/%.wasm)
# Warnings the guests trigger on purpose (snprintf truncation, exit()
# from a recursive function).
GUEST_NATIVE_WARN := -Wall -Wno-format-truncation -Wno-infinite-recursion

$(TB)/guest/native/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) $(GUEST_NATIVE_WARN) -o $@ $< -lm

$(TB)/guest/wasm/%.wasm: tests/guest/%.c $(WASI_COMPAT)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Wall $(WASI_LDFLAGS) -o $@ $< $(WASI_COMPAT) -lm

test-guest: all $(XRUN) $(GUEST_NATIVE) $(GUEST_WASM)
	@sh tests/guest/run.sh

test-guest-aot: all $(XRUN) $(GUEST_NATIVE) $(GUEST_WASM)
	@KRAIT_CACHE=$(abspath $(TB))/aot-cache GUEST_TIER=aot sh tests/guest/run.sh

# ---- limits -------------------------------------------------------------
LIMITS_WASM := $(patsubst tests/limits/%.wat,$(TB)/limits/%.wasm,$(sort $(wildcard tests/limits/*.wat))) \
               $(patsubst tests/limits/%.c,$(TB)/limits/%.wasm,$(sort $(wildcard tests/limits/*.c)))

$(TB)/limits/%.wasm: tests/limits/%.wat
	@mkdir -p $(dir $@)
	$(WAT2WASM) $< -o $@

$(TB)/limits/%.wasm: tests/limits/%.c $(WASI_COMPAT)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Wall $(WASI_LDFLAGS) -o $@ $< $(WASI_COMPAT)

test-limits: all $(XRUN) $(LIMITS_WASM)
	@sh tests/limits/run.sh

# ---- the AOT tier's cache (tests/aot/) -------------------------------------
AOT_WASM := $(patsubst tests/aot/%.wat,$(TB)/aot/%.wasm,$(sort $(wildcard tests/aot/*.wat)))

$(TB)/aot/%.wasm: tests/aot/%.wat
	@mkdir -p $(dir $@)
	$(WAT2WASM) $< -o $@

test-aot: all $(AOT_WASM)
	@sh tests/aot/cache.sh

# The battery and cross-tier snapshots (tests/aot/test_*.c): programs
# against krait.h and krait_host.h, run like the unit tests; their AOT
# caches live in $(TB)/aot/battery-cache.
AOT_TEST_BIN := $(patsubst tests/aot/%.c,$(TB)/aot/bin/%,$(sort $(wildcard tests/aot/test_*.c)))

$(TB)/aot/bin/%: tests/aot/%.c $(UNIT_HDR) build/libkrait.a build/libkrait-host.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Iinclude -Itests/unit -DWASM_DIR='"$(TB)/aot"' $(WARN) -o $@ $< build/libkrait-host.a build/libkrait.a $(LDLIBS)

test-aot-battery: all $(XRUN) $(AOT_WASM) $(AOT_TEST_BIN)
	@sh tests/run_unit.sh aot-battery $(TB)/aot/bin

test-limits-aot: all $(XRUN) $(LIMITS_WASM)
	@KRAIT_CACHE=$(abspath $(TB))/aot-cache LIMIT_TIER=aot sh tests/limits/run.sh

# ---- ASan + UBSan -------------------------------------------------------
# build/asan/{krait,libkrait.a,libkrait-host.a} come from the Makefile's `asan` target,
# run first by each asan tier (a sub-make, so no rule here names them).
.PHONY: asan-build
asan-build:
	@$(MAKE) --no-print-directory $(KT_JOBS) asan

KT_ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test-asan-unit: asan-build
	@$(MAKE) --no-print-directory asan-test-bins
	@$(KT_ASAN_ENV) sh tests/run_unit.sh asan-unit $(TB)/asan-unit/bin

test-asan-spec-guard: asan-build $(XRUN)
	@$(KT_ASAN_ENV) sh tests/run_spec.sh asan-spec-guard guard build/asan/krait

test-asan-spec-explicit: asan-build $(XRUN)
	@$(KT_ASAN_ENV) sh tests/run_spec.sh asan-spec-explicit explicit build/asan/krait

# ---- fuzz smoke ---------------------------------------------------------
test-fuzz: $(XRUN)
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(TEST_FUZZ_SECONDS) fuzz

# The same target with guard-page memories (faults become traps), for half
# the time.
# The parsers of untrusted bytes (TOML manifest, HTTP/1.1, artifact
# bundles, snapshot files), a quarter of the time each.
test-fuzz-toml test-fuzz-http test-fuzz-bundle test-fuzz-snapshot test-fuzz-conn test-fuzz-imports test-fuzz-aot test-fuzz-net test-fuzz-redis test-fuzz-pg test-fuzz-gguf test-fuzz-llm test-fuzz-remote test-fuzz-model: test-fuzz-%: $(XRUN)
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run_parser.sh $* $$(( $(TEST_FUZZ_SECONDS) / 4 )) fuzz-$*

test-fuzz-aot-sample: all
	@sh tests/fuzz/aot_sample.sh 12 fuzz-aot-sample

test-fuzz-guard: $(XRUN)
	@$(MAKE) --no-print-directory fuzz-build
	@KRAIT_FUZZ_BOUNDS=guard sh tests/fuzz/run.sh $$(( $(TEST_FUZZ_SECONDS) / 2 )) fuzz-guard
