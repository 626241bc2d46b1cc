# mk/demo.mk -- `make demo`: on a fresh Debian 12 machine, installs what is
# missing (scripts/bootstrap.sh, also its python set), builds krait,
# compiles the examples to wasm32-wasi and runs them with `krait run`, then
# builds python.wasm and its native code (`make python`'s steps, cached
# after the first time) and runs
# examples/stats.py with `krait python`; builds the browser build (`make
# web`, for the playground at /web/playground/); then builds (`krait build`: one
# artifact per app in examples/notes/.krait/) and serves examples/notes (one
# notes API as a Spin, a Cloudflare and a Flask app over one key-value
# store) with `krait serve` on 127.0.0.1:8080 (admin 127.0.0.1:9090), runs
# a few curl commands against it, and leaves it running when stdin is a
# terminal (pid in build/notes-demo.pid, log in build/notes-demo.log),
# else stops it.
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
	@sh scripts/python-aot.sh
	@echo
	@echo '$$ build/krait python examples/stats.py < README.md'
	@build/krait python examples/stats.py < README.md
	@echo
	@$(MAKE) --no-print-directory all
	@sh scripts/build-web.sh || echo "(no browser build: krait serve runs without --playground)"
	@$(DEMO_NOTES)

# The notes demo, one shell script: stops the server an earlier `make demo`
# left running (its pid file, if that process is still krait), starts
# `krait serve examples/notes`, waits for /healthz, shows and runs the curl
# commands, then keeps the server (stdin a terminal) or stops it.
NOTES_URL  := http://127.0.0.1:8080
NOTES_CMDS := curl -s -X POST -d 'buy milk' $(NOTES_URL)/spin/notes;\
              curl -s -X POST -d 'call the plumber' $(NOTES_URL)/cf/notes;\
              curl -s -X POST -d 'water the plants' $(NOTES_URL)/flask/notes;\
              curl -s $(NOTES_URL)/spin/notes;\
              curl -s $(NOTES_URL)/cf/notes/1;\
              curl -s $(NOTES_URL)/flask/notes
define DEMO_NOTES
pidf=build/notes-demo.pid; log=build/notes-demo.log; \
old=$$(cat $$pidf 2>/dev/null); \
if [ -n "$$old" ] && [ "$$(ps -p $$old -o comm= 2>/dev/null)" = krait ]; then \
  echo "Stopping the notes server an earlier 'make demo' left running (pid $$old)"; \
  kill -TERM $$old; \
  for i in $$(seq 100); do kill -0 $$old 2>/dev/null || break; sleep 0.1; done; \
fi; \
rm -f $$pidf; \
echo '$$ build/krait build examples/notes'; \
build/krait build examples/notes || exit 1; \
pg=; [ -f build/web/playground/index.html ] && pg=--playground; \
echo "$$ build/krait serve examples/notes --listen 127.0.0.1:8080 --admin 127.0.0.1:9090 $$pg &"; \
build/krait serve examples/notes --listen 127.0.0.1:8080 --admin 127.0.0.1:9090 $$pg \
  </dev/null >$$log 2>&1 & \
pid=$$!; \
up=; for i in $$(seq 300); do \
  if curl -sf http://127.0.0.1:9090/healthz >/dev/null 2>&1; then up=1; break; fi; \
  kill -0 $$pid 2>/dev/null || break; sleep 0.1; \
done; \
if [ -z "$$up" ]; then \
  echo "krait serve did not come up; the end of $$log:"; tail -n 20 $$log; \
  kill -TERM $$pid 2>/dev/null; exit 1; \
fi; \
echo $$pid >$$pidf; \
echo "Serving examples/notes at $(NOTES_URL)/{spin,cf,flask}/notes (log: $$log)."; \
[ -n "$$pg" ] && echo "The Python playground (in your browser): $(NOTES_URL)/web/playground/"; \
echo "Try these (the three apps share one key-value store):"; \
echo "$(NOTES_CMDS)" | tr ';' '\n' | sed 's/^ */  /'; \
echo "$(NOTES_CMDS)" | tr ';' '\n' | sed 's/^ *//' | while IFS= read -r cmd; do \
  echo; echo "$$ $$cmd"; sh -c "$$cmd" </dev/null; \
done; \
echo; \
if [ -t 0 ]; then \
  echo "The notes server is still running (pid $$pid). Stop it with:"; \
  echo "  kill $$pid      # or: kill \$$(cat $$pidf)"; \
else \
  kill -TERM $$pid; wait $$pid; rm -f $$pidf; \
  echo "Stopped the notes server (stdin is not a terminal). To run it yourself:"; \
  echo "  build/krait serve examples/notes --playground    # stop it with Ctrl-C"; \
fi
endef

examples: $(EXAMPLES)

build/examples/%.wasm: examples/%.c $(WASI_COMPAT)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Wall -o $@ $< $(WASI_COMPAT)
