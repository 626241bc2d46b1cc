# mk/bench-llm.mk -- `make bench-llm`: krait's LLM engine against llama.cpp
# (node-llama-cpp) on the same generated GGUF files and thread counts:
# prompt and generated tokens/s (150M llama, Q8_0 and Q4_K), embeddings/s
# (a MiniLM-sized bert) and krait serve's RSS with 1 and 8 requests in
# flight (bench/llm.sh). Not a test tier. BENCH_ROUNDS, BENCH_THREADS.
.PHONY: bench-llm
bench-llm: all
	@sh scripts/build-python.sh
	@sh bench/llm.sh

# `make test-llm-bench`: `krait llm bench` checked on the test models
# (tests/llm/check_bench.sh): its greedy tokens equal `krait llm
# generate`'s, its counts, and its errors. A test tier (tests.mk's kt_tier).
.PHONY: test-llm-bench
test-llm-bench: all
	$(call kt_tier,llm-bench,sh tests/llm/check_bench.sh build/krait)
