# mk/demo.mk -- `make demo`: on a fresh Debian 12 machine, installs what is
# missing (scripts/bootstrap.sh, also its python set), builds krait,
# compiles the examples to wasm32-wasi and runs them with `krait run`, then
# builds python.wasm (`make python`, cached after the first time) and runs
# examples/stats.py with `krait python`.
# Does not own: the examples' code (examples/*).
include mk/vars.inc

EXAMPLES := $(patsubst examples/%.c,build/examples/%.wasm,$(sort $(wildcard examples/*.c)))

.PHONY: demo examples
demo:
	@sh scripts/bootstrap.sh
	@$(MAKE) --no-print-directory all examples
	@echo
	@echo '$$ build/krait run build/examples/mandelbrot.wasm 72 24 300'
	@build/krait run build/examples/mandelbrot.wasm 72 24 300
	@echo
	@echo '$$ build/krait run build/examples/wordfreq.wasm 8 < README.md'
	@build/krait run build/examples/wordfreq.wasm 8 < README.md
	@echo
	@sh scripts/bootstrap.sh python
	@sh scripts/build-python.sh
	@echo
	@echo '$$ build/krait python examples/stats.py < README.md'
	@build/krait python examples/stats.py < README.md

examples: $(EXAMPLES)

build/examples/%.wasm: examples/%.c $(WASI_COMPAT)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Wall -o $@ $< $(WASI_COMPAT)
