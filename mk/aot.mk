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
