# mk/install.mk -- `make install`: krait, python.wasm with its stdlib, the
# guest SDK, the browser build (when `make web` made one), the headers and
# the libraries into $(DESTDIR)$(PREFIX) (default /usr/local), laid out as
# src/cli/paths.c finds them beside PREFIX/bin/krait (scripts/install.sh);
# `make uninstall` removes them. Owns the targets only.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: install uninstall
install: all python
	@sh scripts/install.sh "$(DESTDIR)$(PREFIX)"

uninstall:
	rm -rf "$(DESTDIR)$(PREFIX)/lib/krait" "$(DESTDIR)$(PREFIX)/share/krait"
	rm -f "$(DESTDIR)$(PREFIX)/bin/krait" $(patsubst include/%,"$(DESTDIR)$(PREFIX)/include/%",$(wildcard include/*.h)) \
	  $(patsubst build/%,"$(DESTDIR)$(PREFIX)/lib/%",$(wildcard build/lib*.a))
