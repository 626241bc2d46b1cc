#!/bin/bash
# tests/serve/security.sh -- what an app folder or an artifact can make
# `krait build` and `krait serve` do, end to end against build/krait:
# symlinks out of the app folder (refused, their target's bytes nowhere in
# .krait/) and inside it (bundled as what they lead to), out of
# site-packages (left out); unsafe app and store names; artifacts whose
# embedded manifest was rewritten with the CRC recomputed (store paths
# absolute or with "..", dir and site_packages moved: refused, nothing
# created); signatures (krait keygen, build --sign, serve --trust: signed
# serves, unsigned / other key / one byte changed refused, unsigned still
# served without --trust, OpenSSL-made keys). Prints "ok NAME" / "FAIL NAME"
# and ends with "N passed, N failed". Needs build/krait, `make python`,
# python3 and openssl (KRAIT_BIN overrides the binary, e.g. the ASan
# build). Does not own the parsers' unit tests (tests/host/).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
K=${KRAIT_BIN:-$K}      # e.g. build/asan/krait
EDIT="python3 $ROOT/tests/serve/artifact_edit.py"
export KRAIT_CACHE=$T/cache
MARK="host-secret-$$-$RANDOM"

# expect NAME RC WANT_RC OUTPUT PATTERN...: the status, and every pattern
# (a shell glob) in the output.
expect() {
  local name=$1 rc=$2 want=$3 out=$4
  shift 4
  [ "$rc" = "$want" ] || { bad "$name" "status $rc, want $want: $(echo "$out" | tail -n 3)"; return; }
  for p in "$@"; do
    # shellcheck disable=SC2053
    [[ $out == $p ]] || { bad "$name" "no '$p' in: $(echo "$out" | tail -n 3)"; return; }
  done
  ok "$name"
}

# refused NAME PATTERN ARGS...: `krait serve ARGS` (in $R) must exit 1
# without serving, saying PATTERN.
refused() {
  local name=$1 pat=$2 out rc
  shift 2
  out=$(cd "$R" && timeout 30 "$K" serve "$@" --listen "127.0.0.1:$(free_port)" 2>&1); rc=$?
  expect "$name" "$rc" 1 "$out" "$pat"
}

# no_mark NAME DIR: the secret's bytes appear in no file under DIR, nor
# inside any artifact there (its manifest, inflated bundle or memory).
no_mark() {
  local f
  if grep -rqa "$MARK" "$2" 2>/dev/null; then bad "$1" "the host file's contents are in $(grep -rla "$MARK" "$2" | head -n 1)"; return; fi
  for f in $(find "$2" -name '*.krait' 2>/dev/null); do
    if $EDIT "$f" - contains "$MARK"; then bad "$1" "the host file's contents are in $f"; return; fi
  done
  ok "$1"
}

HOST=$T/host            # files of the host, outside every app folder
mkdir -p "$HOST/dir"
echo "$MARK" >"$HOST/secret.txt"
echo "$MARK" >"$HOST/dir/inner.txt"
chmod 600 "$HOST/secret.txt"

spin_app() {  # spin_app DIR: a Spin app whose answer is the file alias.txt and sub_link.mod.X
  mkdir -p "$1/sub"
  cat >"$1/app.py" <<'EOF'
import os
from spin_sdk import http
from spin_sdk.http import Response
HERE = os.path.dirname(os.path.abspath(__file__))
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        if request.uri == "/leak":
            try:
                return Response(200, {}, open(os.path.join(HERE, "leaked.txt")).read().encode())
            except OSError as e:
                return Response(403, {}, type(e).__name__.encode())
        text = open(os.path.join(HERE, "alias.txt")).read().strip()
        import sub_link.mod
        return Response(200, {}, f"{text}:{sub_link.mod.X}".encode())
EOF
  echo "inside" >"$1/real.txt"
  ln -s real.txt "$1/alias.txt"
  echo "X = 42" >"$1/sub/mod.py"
  ln -s sub "$1/sub_link"
  printf '[app]\nname = "linky"\nstyle = "spin"\ndir = "app"\n' >"$(dirname "$1")/krait.toml"
}

# ---- point 4: symlinks in the app folder ----------------------------------------
L=$T/links
spin_app "$L/app"
ln -s "$HOST/secret.txt" "$L/app/leaked.txt"
out=$(cd "$L" && "$K" build 2>&1); rc=$?
expect build-refuses-link-out "$rc" 1 "$out" "*$L/app/leaked.txt*" "*symlink to $HOST/secret.txt*outside*"
check build-link-out-no-artifact "$(ls "$L/.krait" 2>/dev/null | grep -c '\.krait$')" "0"
no_mark build-link-out-not-in-krait-dir "$L/.krait"
# the same link served unbuilt: the guest cannot read it either
P=$(free_port) AP=$(free_port)
if start "$L" "$P" "$AP"; then
  check unbuilt-link-out-unreadable "$(curl -s http://127.0.0.1:$P/leak)" "PermissionError"
  check unbuilt-link-inside "$(curl -s http://127.0.0.1:$P/)" "inside:42"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad unbuilt-link-out-unreadable "no server"; fi
rm "$L/app/leaked.txt"
ln -s ../../host/secret.txt "$L/app/leaked.txt"    # relative, out
out=$(cd "$L" && "$K" build 2>&1); rc=$?
expect build-refuses-relative-link-out "$rc" 1 "$out" "*leaked.txt: a symlink to ../../host/secret.txt*outside*"
rm "$L/app/leaked.txt"
ln -s "$HOST/dir" "$L/app/leaked_dir"              # a directory, out
out=$(cd "$L" && "$K" build 2>&1); rc=$?
expect build-refuses-dir-link-out "$rc" 1 "$out" "*leaked_dir: a symlink to $HOST/dir*outside*"
rm "$L/app/leaked_dir"
ln -s nowhere.txt "$L/app/dangling.txt"
out=$(cd "$L" && "$K" build 2>&1); rc=$?
expect build-refuses-dangling-link "$rc" 1 "$out" "*dangling.txt: a symlink to nowhere.txt, which does not exist*"
rm "$L/app/dangling.txt"
no_mark link-out-never-in-krait-dir "$L/.krait"

# in-folder links: bundled as what they lead to; served elsewhere, sources gone
out=$(cd "$L" && "$K" build 2>&1); rc=$?
expect build-in-folder-links "$rc" 0 "$out" "*linky.krait*"
R=$T/run-links
mkdir -p "$R"
cp "$L/.krait/linky.krait" "$R/"
mv "$L" "$T/links-gone"
P=$(free_port) AP=$(free_port)
if start "$R" "$P" "$AP" linky.krait; then
  check artifact-in-folder-links "$(curl -s http://127.0.0.1:$P/)" "inside:42"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad artifact-in-folder-links "no server"; fi
u=$(dirname "$(grep -rl 'sub_link.mod' "$KRAIT_CACHE"/apps/*/app/app.py | head -n 1)")
if [ -f "$u/alias.txt" ] && [ ! -L "$u/alias.txt" ] && [ "$(cat "$u/alias.txt")" = inside ] &&
   [ -f "$u/sub_link/mod.py" ] && [ ! -L "$u/sub_link" ]; then ok in-folder-links-stored-as-content
else bad in-folder-links-stored-as-content "$(ls -la "$u" | tr '\n' ' ')"; fi

# site-packages: a link leading out is left out (and said so), the rest bundled
S=$T/site
mkdir -p "$S/app" "$S/sp/pkg"
echo "VALUE = 'from-site'" >"$S/sp/pkg/__init__.py"
ln -s "$HOST/secret.txt" "$S/sp/pkg/leak.txt"
cat >"$S/app/app.py" <<'EOF'
import os, pkg
from spin_sdk import http
from spin_sdk.http import Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        leak = os.path.join(os.path.dirname(pkg.__file__), "leak.txt")
        return Response(200, {}, f"{pkg.VALUE}:{os.path.exists(leak)}".encode())
EOF
printf '[app]\nname = "site"\nstyle = "spin"\ndir = "app"\nsite_packages = ["sp"]\n' >"$S/krait.toml"
out=$(cd "$S" && "$K" build 2>&1); rc=$?
expect build-site-link-out-left-out "$rc" 0 "$out" "*left out 1 symlink of site-packages*$S/sp/pkg/leak.txt: a symlink to $HOST/secret.txt*"
if [ -f "$S/.krait/site.krait" ]; then
  if $EDIT "$S/.krait/site.krait" - contains "$MARK"; then bad site-link-out-not-in-artifact "found in the artifact"
  else ok site-link-out-not-in-artifact; fi
  R=$T/run-site
  mkdir -p "$R"
  cp "$S/.krait/site.krait" "$R/"
  P=$(free_port) AP=$(free_port)
  if start "$R" "$P" "$AP" site.krait; then
    check artifact-site-packages-served "$(curl -s http://127.0.0.1:$P/)" "from-site:False"
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
  else bad artifact-site-packages-served "no server"; fi
else bad site-link-out-not-in-artifact "no artifact"; fi

# ---- point 5: names ------------------------------------------------------------
N=$T/names/l1/l2
mkdir -p "$N/app"
cp "$ROOT/python/examples/spin_hello/app.py" "$N/app/"
printf '[app]\nname = "../../../x"\nstyle = "spin"\ndir = "app"\n' >"$N/krait.toml"
out=$(cd "$N" && "$K" build 2>&1); rc=$?
expect name-dotdot-refused "$rc" 1 "$out" "*$N/krait.toml:2: app name \"../../../x\" is not allowed*"
check name-dotdot-no-file "$(find "$T" -name 'x.krait*' | wc -l)" "0"
printf '[app]\nname = "ok"\nstyle = "spin"\ndir = "app"\nkey_value_stores = ["../../../up"]\n[key_value_stores."../../../up"]\n' >"$N/krait.toml"
out=$(cd "$N" && "$K" build 2>&1); rc=$?
expect store-name-dotdot-refused "$rc" 1 "$out" "*krait.toml:6: key-value store name \"../../../up\" is not allowed*"
check store-name-dotdot-no-file "$(find "$T" -name 'up.db*' | wc -l)" "0"

# ---- point 6: rewritten manifests ------------------------------------------------
B=$T/build
mkdir -p "$B/app"
cp "$ROOT/python/examples/spin_hello/app.py" "$B/app/"
printf '[app]\nname = "hello"\nstyle = "spin"\ndir = "app"\n' >"$B/krait.toml"
(cd "$B" && "$K" build) >"$T/build.log" 2>&1 || bad build-hello "$(tail -n 3 "$T/build.log")"
R=$T/serve
mkdir -p "$R"
cp "$B/.krait/hello.krait" "$R/unsigned.krait"
EVIL=/tmp/krait-security-$$
STORE=$'max_memory_mb = 256\n\n[key_value_stores.default]\nbackend = "sqlite"\npath = '
$EDIT "$R/unsigned.krait" "$R/abs.krait" manifest 'max_memory_mb = 256' "${STORE}\"$EVIL/evil.db\""
refused rewritten-store-absolute-refused "*artifact abs.krait: its krait.toml:*key_value_stores.default path \"$EVIL/evil.db\" is absolute*" abs.krait
check rewritten-store-absolute-nothing-created "$(ls -d "$EVIL" 2>/dev/null | wc -l)" "0"
$EDIT "$R/unsigned.krait" "$R/up.krait" manifest 'max_memory_mb = 256' "${STORE}\"../escape/evil.db\""
refused rewritten-store-dotdot-refused "*artifact up.krait: its krait.toml:*key_value_stores.default path \"../escape/evil.db\" has a \"..\" part*" up.krait
check rewritten-store-dotdot-nothing-created "$(ls -d "$T/escape" 2>/dev/null | wc -l)" "0"
$EDIT "$R/unsigned.krait" "$R/grant.krait" manifest 'key_value_stores = []' 'key_value_stores = ["default"]'
$EDIT "$R/grant.krait" "$R/grant.krait" manifest 'max_memory_mb = 256' "${STORE}\"data/../../../escape.db\""
refused rewritten-granted-store-refused "*key_value_stores.default path \"data/../../../escape.db\" has a \"..\" part*" grant.krait
check rewritten-granted-store-nothing-created "$(find "$T" -name 'escape.db*' | wc -l)" "0"
$EDIT "$R/unsigned.krait" "$R/dir.krait" manifest 'dir = "app"' 'dir = "nope"'
refused rewritten-dir-clear-error "*artifact dir.krait: its krait.toml: dir \"nope\" of app \"hello\" is not a directory of its bundle*" dir.krait
out=$(cd "$R" && timeout 30 "$K" serve dir.krait --listen "127.0.0.1:$(free_port)" 2>&1)
case $out in *"out of memory"*) bad rewritten-dir-not-out-of-memory "$out" ;; *) ok rewritten-dir-not-out-of-memory ;; esac
$EDIT "$R/unsigned.krait" "$R/diretc.krait" manifest 'dir = "app"' 'dir = "/etc"'
refused rewritten-dir-absolute-refused "*its krait.toml:*dir \"/etc\" is absolute*" diretc.krait
$EDIT "$R/unsigned.krait" "$R/site.krait" manifest 'site_packages = []' 'site_packages = ["/usr/lib/python3/dist-packages"]'
refused rewritten-site-packages-refused "*site_packages \"/usr/lib/python3/dist-packages\" is absolute*" site.krait
# the operator's own krait.toml may name absolute paths (documented)
mkdir -p "$T/opdata"
printf '[app]\nname = "op"\nstyle = "spin"\ndir = "app"\nkey_value_stores = ["default"]\n[key_value_stores.default]\npath = "%s/opdata/op.db"\n' "$T" >"$B/krait.toml"
P=$(free_port) AP=$(free_port)
if start "$B" "$P" "$AP"; then
  check manifest-absolute-store-allowed "$(ls "$T/opdata" | grep -c '^op.db$')" "1"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad manifest-absolute-store-allowed "no server"; fi
printf '[app]\nname = "hello"\nstyle = "spin"\ndir = "app"\n' >"$B/krait.toml"

# ---- point 6: signatures ----------------------------------------------------------
KEYS=$T/keys
mkdir -p "$KEYS"
out=$(cd "$KEYS" && "$K" keygen dev 2>&1 && "$K" keygen other 2>&1); rc=$?
expect keygen-writes-pair "$rc" 0 "$out" "*wrote dev.key*dev.pub*"
check keygen-private-0600 "$(stat -c %a "$KEYS/dev.key")" "600"
check keygen-public-is-pem "$(head -n 1 "$KEYS/dev.pub")" "-----BEGIN PUBLIC KEY-----"
out=$(cd "$KEYS" && "$K" keygen dev 2>&1); rc=$?
expect keygen-never-overwrites "$rc" 1 "$out" "*dev.key already exists*"
out=$(cd "$B" && "$K" build --sign "$KEYS/dev.key" 2>&1); rc=$?
expect build-signs "$rc" 0 "$out" "*hello.krait*signed with $KEYS/dev.key (ed25519:*"
cp "$B/.krait/hello.krait" "$R/signed.krait"
out=$(cd "$B" && "$K" build --sign "$KEYS/dev.pub" 2>&1); rc=$?
expect sign-with-public-key-refused "$rc" 1 "$out" "*dev.pub is a public key: --sign needs the private key*"
out=$(cd "$B" && "$K" serve --trust "$KEYS/dev.pub" 2>&1); rc=$?
expect trust-needs-artifacts "$rc" 2 "$out" "*--trust checks artifacts*"

P=$(free_port) AP=$(free_port)
if start "$R" "$P" "$AP" signed.krait --trust "$KEYS/other.pub" --trust "$KEYS/dev.pub"; then
  check signed-trusted-serves "$(curl -s http://127.0.0.1:$P/)" "hi"
  check signed-trusted-logged "$(grep -c "signed.krait: signed by trusted key $KEYS/dev.pub" "$R/server.log")" "1"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad signed-trusted-serves "no server"; fi
refused unsigned-refused-with-trust "*artifact unsigned.krait: not signed*" unsigned.krait --trust "$KEYS/dev.pub"
refused other-key-refused "*artifact signed.krait: signed by an untrusted key (ed25519:*" signed.krait --trust "$KEYS/other.pub"
$EDIT "$R/signed.krait" "$R/flip.krait" flip bundle
refused flipped-bundle-byte-refused "*artifact flip.krait: signature does not match: the file was changed after signing*" flip.krait --trust "$KEYS/dev.pub"
$EDIT "$R/signed.krait" "$R/flip2.krait" flip 20           # python.wasm's hash in the header
refused flipped-header-byte-refused "*flip2.krait: signature does not match*" flip2.krait --trust "$KEYS/dev.pub"
size=$(stat -c %s "$R/signed.krait")
$EDIT "$R/signed.krait" "$R/flip3.krait" flip $((size - 100))   # the snapshot's memory
refused flipped-memory-byte-refused "*flip3.krait: signature does not match*" flip3.krait --trust "$KEYS/dev.pub"
cp "$R/signed.krait" "$R/flip4.krait"                       # no CRC fix-up: still named
printf 'X' | dd of="$R/flip4.krait" bs=1 seek=5000 conv=notrunc 2>/dev/null
refused flipped-byte-no-crc-refused "*flip4.krait: signature does not match*" flip4.krait --trust "$KEYS/dev.pub"
$EDIT "$R/signed.krait" "$R/resigned.krait" manifest 'debug = false' 'debug = true'
refused rewritten-signed-manifest-refused "*resigned.krait: signature does not match*" resigned.krait --trust "$KEYS/dev.pub"
refused trust-private-key-refused "*dev.key is a private key: give --trust the public key*" signed.krait --trust "$KEYS/dev.key"
refused trust-not-a-key-refused "*--trust: $KEYS/nokey.pub: No such file*" signed.krait --trust "$KEYS/nokey.pub"

# without --trust, signed and unsigned artifacts are served as before
P=$(free_port) AP=$(free_port)
if start "$R" "$P" "$AP" unsigned.krait; then
  check unsigned-served-without-trust "$(curl -s http://127.0.0.1:$P/)" "hi"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad unsigned-served-without-trust "no server"; fi
P=$(free_port) AP=$(free_port)
if start "$R" "$P" "$AP" signed.krait; then
  check signed-served-without-trust "$(curl -s http://127.0.0.1:$P/)" "hi"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad signed-served-without-trust "no server"; fi

# keys made by OpenSSL itself work the same
if openssl genpkey -algorithm ed25519 -out "$KEYS/ossl.key" 2>/dev/null &&
   openssl pkey -in "$KEYS/ossl.key" -pubout -out "$KEYS/ossl.pub" 2>/dev/null; then
  out=$(cd "$B" && "$K" build --sign "$KEYS/ossl.key" 2>&1); rc=$?
  expect openssl-key-signs "$rc" 0 "$out" "*signed with $KEYS/ossl.key*"
  cp "$B/.krait/hello.krait" "$R/ossl.krait"
  P=$(free_port) AP=$(free_port)
  if start "$R" "$P" "$AP" ossl.krait --trust "$KEYS/ossl.pub"; then
    check openssl-key-trusted "$(curl -s http://127.0.0.1:$P/)" "hi"
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
  else bad openssl-key-trusted "no server"; fi
  openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out "$KEYS/rsa.key" 2>/dev/null
  out=$(cd "$B" && "$K" build --sign "$KEYS/rsa.key" 2>&1); rc=$?
  expect rsa-key-refused "$rc" 1 "$out" "*rsa.key is a RSA key, not Ed25519*"
else bad openssl-key-signs "openssl cannot make an ed25519 key"; fi

rm -rf "$EVIL"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
