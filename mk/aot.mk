# mk/aot.mk -- build rules of the AOT tier (src/aot/): the text of the
# ABI header and the numeric helpers, embedded into every generated C file
# so generated code and the runtime share one definition of each.
AOT_TEXT := $(B)/gen/aot_text.inc

# Each header becomes a C string literal (one line per source line).
$(AOT_TEXT): src/aot/abi.h src/interp/numeric.h mk/aot.mk
	@mkdir -p $(dir $@)
	@{ for f in src/aot/abi.h src/interp/numeric.h; do \
	     n=$$(basename $$f .h); \
	     printf 'static const char kaot_text_%s[] =\n' $$n; \
	     sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; \
	     printf ';\n'; \
	   done; } >$@.tmp && mv $@.tmp $@

$(B)/obj/src/aot/unit.o: $(AOT_TEXT)
$(B)/obj/src/aot/unit.o: CPPFLAGS += -I$(B)/gen

# The identity gcc has at build time, in the form the cache key spells it
# (the first line of its --version and its -dumpmachine, each followed by a
# space, as ask_compiler in src/aot/build.c reads them):
# objects are looked up under it first, with no compiler run (build.c).
# Empty when there is no gcc. After a gcc upgrade, lookups that miss ask
# gcc for its new identity (one compiler run per process) until krait is
# rebuilt.
KAOT_GCC_BUILT := $(shell { gcc --version 2>/dev/null | head -n 1; gcc -dumpmachine 2>/dev/null; } | tr '\n' ' ')
$(B)/obj/src/aot/build.o: CPPFLAGS += -DKAOT_GCC_BUILT='"$(KAOT_GCC_BUILT)"'
