# mk/bench-llm.mk -- `make bench-llm`: krait's LLM engine against llama.cpp
# (node-llama-cpp) on the same generated GGUF files and thread counts:
# prompt and generated tokens/s (150M llama, Q8_0 and Q4_K), embeddings/s
# (a MiniLM-sized bert) and krait serve's RSS with 1 and 8 requests in
# flight (bench/llm.sh). Not a test tier. BENCH_ROUNDS, BENCH_THREADS.
.PHONY: bench-llm
bench-llm: all
	@sh scripts/build-python.sh
	@sh bench/llm.sh
