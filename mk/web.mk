# mk/web.mk -- `make web`: krait in the browser as a static site in
# build/web/ (scripts/build-web.sh); `make test-web`: the browser tests in
# Debian's Chromium driven by playwright-core (tests/web/run.sh).
# Owns: the targets only.
.PHONY: web
web: python
	@sh scripts/build-web.sh

# The browser benchmark: krait.js against Pyodide (bench/web.sh).
.PHONY: bench-web
bench-web: all
	@sh bench/web.sh
