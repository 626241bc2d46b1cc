# mk/bench-llm-kern.mk -- `make bench-llm-kern`: the LLM kernels' micro
# benchmark (bench/llm/kern.c): GB/s of weights kl_matvec streams per type
# and shape, 1 and 2 threads. Not a test tier. Owns build/bench/llm/.
.PHONY: bench-llm-kern
build/bench/llm/kern: bench/llm/kern.c build/libkrait.a build/libkrait-host.a
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) -o $@ $< build/libkrait-host.a build/libkrait.a $(LDLIBS)

bench-llm-kern: all build/bench/llm/kern
	build/bench/llm/kern $(BENCH_LLM_TYPE)
