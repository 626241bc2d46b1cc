# mk/web.mk -- `make web`: krait in the browser as a static site in
# build/web/ (scripts/build-web.sh, which also generates krait-constants.js
# from the C headers with scripts/gen-web-constants.py, so it cannot go
# stale, and writes the precompressed FILE.br/FILE.gz that krait serve
# --playground sends: needs brotli); `make test-web` (mk/tests.mk): the
# browser tests in Debian's Chromium driven by playwright-core
# (tests/web/tier.sh, run.mjs, serve.sh). make web also publishes the
# package sets of build/python/sets/ (scripts/web-sets.py).
# Owns: the targets only.
.PHONY: web
web: python
	@sh scripts/build-web.sh

# The browser benchmark: krait.js against Pyodide, served by krait serve
# --playground (bench/web.sh).
.PHONY: bench-web
bench-web: all
	@sh bench/web.sh

# What a plain page and a package-set page transfer (brotli, krait serve
# --playground) and the plain page's time to output (bench/web-sizes.mjs;
# the markupsafe page when build/web has that set).
.PHONY: bench-web-sizes
bench-web-sizes: all
	@node bench/web-sizes.mjs build/web
