# mk/python.mk -- `make python`: CPython 3.11.2 for wasm32-wasi from
# Debian 12's source packages (scripts/build-python.sh), cached in
# ${KRAIT_CACHE:-~/.cache/krait}/python-<key>/ and copied to build/python/,
# then compiled to native code by the AOT tier (scripts/python-aot.sh:
# cached in ${KRAIT_CACHE:-~/.cache/krait}/aot/<key>.so, copied to
# build/python/aot/), which krait python, serve, build and web-snapshot
# then run on (tier auto).
# PACKAGES="numpy,markupsafe yaml" (sets, each a ','-joined list of recipes
# in python/packages/) also builds those package sets (scripts/build-
# packages.py: python.wasm linked again with the packages' C extensions,
# cached by their inputs, AOT included) into build/python/sets/NAME/, for
# `krait python --packages` and the manifest's packages; the sets already
# there are brought up to date too.
# `make python-test` checks the result under Node's WASI, or under krait
# with PY_RUNNER=krait (tests/python/run.sh). Neither is part of `make test`.
# Owns: the targets only. Does not own: the build (scripts/build-python.sh),
# the packages (scripts/bootstrap.sh python).
.PHONY: python python-rebuild python-test

# PY_JOBS: make -j for CPython and liblzma (default 2).
PACKAGES ?=
python: all
	@sh scripts/bootstrap.sh python
	@sh scripts/build-python.sh
	@sh scripts/python-aot.sh
	@/usr/bin/python3.11 scripts/build-packages.py --installed $(PACKAGES)

python-rebuild: all
	@sh scripts/bootstrap.sh python
	@sh scripts/build-python.sh --force
	@sh scripts/python-aot.sh
	@/usr/bin/python3.11 scripts/build-packages.py --installed $(PACKAGES)

PY_RUNNER ?= node
python-test: python
	@sh tests/python/run.sh $(PY_RUNNER)
