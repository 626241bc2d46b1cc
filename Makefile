# krait -- plain Makefile (Lua/Redis style).
#   make            build/krait, build/libkrait.a, build/libkrait-host.a (-O2)
#   make test       every test tier (unit, spec both bounds modes, guests,
#                   limits, ASan+UBSan, fuzz smoke); see mk/tests.mk
#   make demo       install missing packages, build, run an example
#   make bench      benchmarks (bench/), not tests

CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CPPFLAGS:= -Iinclude -Isrc -D_GNU_SOURCE
B       ?= build

# Two libraries (README "Embedding"):
#   libkrait.a       the embeddable engine (include/krait.h): decode,
#                    valid, interp, runtime, platform, util, wasi. Needs
#                    only libc, libm and pthread (CORE_LDLIBS).
#   libkrait-host.a  the server (include/krait_host.h plus src/ headers):
#                    every other component but the CLI and the spec runner
#                    (app, serve, http, kv, manifest, snapfile, ...), on
#                    top of libkrait.a. Needs HOST_LDLIBS too.
# src/wast (the spec-test runner, `krait wast`) and src/cli go only into
# build/krait, which links both libraries and every external one.
CORE_DIRS := decode valid interp runtime platform util wasi
SRC_DIRS  := $(patsubst src/%/,%,$(sort $(dir $(wildcard src/*/*.c))))
HOST_DIRS := $(filter-out $(CORE_DIRS) cli wast,$(SRC_DIRS))
CORE_LDLIBS := -lm -lpthread
HOST_LDLIBS := -ljansson -lsqlite3 -lpq -lhiredis -lz -llzma -lssl -lcrypto -licuuc
LDLIBS  := $(HOST_LDLIBS) $(CORE_LDLIBS)

CORE_SRC := $(sort $(foreach d,$(CORE_DIRS),$(wildcard src/$(d)/*.c)))
HOST_SRC := $(sort $(foreach d,$(HOST_DIRS),$(wildcard src/$(d)/*.c)))
WAST_SRC := $(sort $(wildcard src/wast/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
HOST_OBJ := $(HOST_SRC:%.c=$(B)/obj/%.o)
WAST_OBJ := $(WAST_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)

.PHONY: all clean demo test bench asan deps
all: $(B)/krait $(B)/libkrait.a $(B)/libkrait-host.a

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -MMD -MP -c $< -o $@

# GCC's advice for computed-goto interpreters: no global CSE in the loop.
$(B)/obj/src/interp/vm.o: override CFLAGS += $(if $(filter gcc cc,$(CC)),-fno-gcse,)
# Wasm floats round every operation: never contract a*b+c into an fma.
# `override`, so builds that set CFLAGS on the command line (asan, fuzz,
# switch) keep it: float semantics must not differ where they are tested.
override CFLAGS += -ffp-contract=off

$(B)/libkrait.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libkrait-host.a: $(HOST_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/krait: $(CLI_OBJ) $(WAST_OBJ) $(B)/libkrait-host.a $(B)/libkrait.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(WAST_OBJ) $(B)/libkrait-host.a $(B)/libkrait.a $(LDLIBS)

# Sanitizer build of the same sources into build/asan (ASan + UBSan, with
# libFuzzer coverage hooks so the fuzz targets link against it too). The
# flags are mk/vars.inc's SAN_CFLAGS, the one definition.
include mk/vars.inc
asan:
	$(MAKE) B=build/asan CC=$(ASAN_CC) CFLAGS="$(SAN_CFLAGS) -fsanitize=fuzzer-no-link" all

# Instrumenting the dispatch loop takes clang minutes at -O1 and seconds at
# -O0, with the same checks; the sanitizer build uses -O0 for that file.
build/asan/obj/src/interp/vm.o: override CFLAGS += -O0

deps:
	sh scripts/bootstrap.sh

clean:
	rm -rf build

-include $(CORE_OBJ:.o=.d) $(HOST_OBJ:.o=.d) $(WAST_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
-include mk/*.mk
