# mk/python.mk -- `make python`: CPython 3.11.2 for wasm32-wasi from
# Debian 12's source packages (scripts/build-python.sh), cached in
# ${KRAIT_CACHE:-~/.cache/krait}/python-<key>/ and copied to build/python/,
# then compiled to native code by the AOT tier (scripts/python-aot.sh:
# cached in ${KRAIT_CACHE:-~/.cache/krait}/aot/<key>.so, copied to
# build/python/aot/), which krait python, serve, build and web-snapshot
# then run on (tier auto).
# `make python-test` checks the result under Node's WASI, or under krait
# with PY_RUNNER=krait (tests/python/run.sh). Neither is part of `make test`.
# Owns: the targets only. Does not own: the build (scripts/build-python.sh),
# the packages (scripts/bootstrap.sh python).
.PHONY: python python-rebuild python-test

# PY_JOBS: make -j for CPython and liblzma (default 2).
python: all
	@sh scripts/bootstrap.sh python
	@sh scripts/build-python.sh
	@sh scripts/python-aot.sh

python-rebuild: all
	@sh scripts/bootstrap.sh python
	@sh scripts/build-python.sh --force
	@sh scripts/python-aot.sh

PY_RUNNER ?= node
python-test: python
	@sh tests/python/run.sh $(PY_RUNNER)
