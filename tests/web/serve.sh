#!/bin/bash
# tests/web/serve.sh -- `krait serve --playground` as a static server, with
# curl: the precompressed sibling the request accepts (br, else gzip, else
# the file; q=0 honoured), bytes that decode to the very file, Vary, strong
# ETags per representation and 304s, HEAD, / and directories redirected,
# paths confined (.., %2e%2e, symlinks and siblings leading out, stale
# siblings), apps keeping their /, and make web's real assets
# ($KRAIT_WEB_BUILD, default build/web). Needs no browser; run.mjs runs
# it. Prints "ok NAME" / "FAIL NAME: why" and "N passed, N failed".
# Does not own the server (src/serve/static.c) or make web.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
K=${KRAIT_BIN:-$K}   # e.g. build/asan/krait (with KRAIT_PYTHON_HOME=build/python)

# A small web root: a playground page, a compressible script with its
# siblings made by scripts/web-compress.sh, and traps.
W=$T/web
mkdir -p "$W/playground" "$W/sub"
echo '<!doctype html><title>playground</title>' >"$W/playground/index.html"
/usr/bin/python3.11 -c 'import sys
sys.stdout.write("".join("export const v%d = \"krait %d\";\n" % (i, i * i) for i in range(3000)))' >"$W/big.js"
echo 'tiny' >"$W/tiny.txt"
echo 'TOP SECRET' >"$T/secret.txt"
ln -s ../secret.txt "$W/leak.txt"
cp "$W/big.js" "$W/evil.js"
ln -s ../secret.txt "$W/evil.js.br"                   # a sibling leading out
cp "$W/big.js" "$W/stale.js"
KRAIT_CACHE=$T/cache sh "$ROOT/scripts/web-compress.sh" "$W/big.js" "$W/tiny.txt" "$W/stale.js" 2>&1
touch -d '2020-01-01' "$W/stale.js.br" "$W/stale.js.gz"   # older than stale.js
check compress-siblings "$([ -s "$W/big.js.br" ] && [ -s "$W/big.js.gz" ] && [ ! -e "$W/tiny.txt.br" ] &&
                           [ "$(wc -c <"$W/big.js.br")" -lt "$(wc -c <"$W/big.js.gz")" ] && echo yes)" yes
check compress-cached-same "$(KRAIT_CACHE=$T/cache sh "$ROOT/scripts/web-compress.sh" "$W/big.js" && brotli -dc "$W/big.js.br" | cmp - "$W/big.js" && echo same)" same

export KRAIT_WEB=$W
P=$(free_port) AP=$(free_port)
mkdir -p "$T/empty"
if ! start "$T/empty" "$P" "$AP" --playground; then echo "0 passed, 1 failed"; exit 1; fi
U=http://127.0.0.1:$P

# get NAME PATH [CURL ARGS...]: the body into $T/NAME.body, the head into
# $T/NAME.head (CR dropped).
get() {
  local n=$1 p=$2; shift 2
  : >"$T/$n.body"
  curl -s -o "$T/$n.body" -D "$T/$n.raw" "$@" "$U$p"
  tr -d '\r' <"$T/$n.raw" >"$T/$n.head"
}
# hdr NAME FIELD: the value of FIELD in $T/NAME.head ("" when absent).
hdr() { awk -v f="$2" 'BEGIN { f = tolower(f) } { i = index($0, ":") } i && tolower(substr($0, 1, i - 1)) == f { print substr($0, i + 2); exit }' "$T/$1.head"; }
status() { head -n 1 "$T/$1.head" | cut -d' ' -f2; }
# decoded NAME: the body decoded by its Content-Encoding.
decoded() {
  case "$(hdr "$1" Content-Encoding)" in
    br) brotli -dc "$T/$1.body" ;; gzip) gzip -dc "$T/$1.body" ;; "") cat "$T/$1.body" ;; *) echo "?" ;;
  esac
}
same() { if decoded "$1" | cmp -s - "$2"; then echo identical; else echo differs; fi; }

# ---- negotiation ---------------------------------------------------------------
get br /web/big.js -H 'Accept-Encoding: gzip, deflate, br, zstd'
check br-chosen "$(status br) $(hdr br Content-Encoding) $(hdr br Vary)" "200 br Accept-Encoding"
check br-decodes-to-file "$(same br "$W/big.js") $(hdr br Content-Type)" "identical text/javascript; charset=utf-8"
check br-length "$(hdr br Content-Length)" "$(wc -c <"$W/big.js.br")"
get gz /web/big.js -H 'Accept-Encoding: gzip'
check gzip-when-only-gzip "$(hdr gz Content-Encoding) $(same gz "$W/big.js")" "gzip identical"
get id /web/big.js
check identity-without-header "$(hdr id Content-Encoding)|$(same id "$W/big.js")|$(hdr id Content-Length)" "|identical|$(wc -c <"$W/big.js")"
for c in "br;q=0, gzip=gzip" "gzip;q=0.5, br;q=0.4=gzip" "gzip;q=0.4, br=br" "br;q=0, gzip;q=0=" "*;q=0=" \
         "*=br" "gzip, *;q=0=gzip" "identity=" "x-gzip=gzip" "BR;Q=1.000=br" "br;q=2, gzip=gzip" \
         "br ; q=0.001 , gzip ; q=0=br" "deflate=" "br;q=0., gzip=gzip"; do
  ae=${c%=*} want=${c##*=}
  get q /web/big.js -H "Accept-Encoding: $ae"
  check "accept-encoding '$ae'" "$(hdr q Content-Encoding)|$(same q "$W/big.js")" "$want|identical"
done
get two /web/big.js -H 'Accept-Encoding: gzip;q=0.1' -H 'Accept-Encoding: br;q=0.9'
check accept-encoding-two-fields "$(hdr two Content-Encoding)" br
get tiny /web/tiny.txt -H 'Accept-Encoding: br, gzip'
check no-sibling-identity "$(hdr tiny Content-Encoding)|$(cat "$T/tiny.body")" "|tiny"

# ---- validators ----------------------------------------------------------------
eb=$(hdr br ETag) eg=$(hdr gz ETag) ei=$(hdr id ETag)
check etags-strong-and-distinct "$(case "$eb$eg$ei" in *W/*) echo weak ;; \"*\") [ "$eb" != "$eg" ] && [ "$eg" != "$ei" ] && [ "$eb" != "$ei" ] && echo distinct ;; esac)" distinct
check cache-control "$(hdr br Cache-Control)" no-cache
get nm /web/big.js -H 'Accept-Encoding: br' -H "If-None-Match: $eb"
check if-none-match-304 "$(status nm) $(wc -c <"$T/nm.body") $(hdr nm ETag) $(hdr nm Cross-Origin-Embedder-Policy)" "304 0 $eb require-corp"
get nmw /web/big.js -H 'Accept-Encoding: br' -H "If-None-Match: \"nope\", W/$eb"
check if-none-match-weak-in-list "$(status nmw)" 304
get nms /web/big.js -H "If-None-Match: *"
check if-none-match-star "$(status nms)" 304
get nmo /web/big.js -H 'Accept-Encoding: gzip' -H "If-None-Match: $eb"
check if-none-match-other-representation "$(status nmo) $(hdr nmo Content-Encoding)" "200 gzip"
get nmx /web/big.js -H 'Accept-Encoding: br' -H 'If-None-Match: "x", garbage'
check if-none-match-no-match "$(status nmx)" 200
touch -d '2030-01-01' "$W/big.js"   # changed: the siblings are now older, the ETag another
get ch /web/big.js -H 'Accept-Encoding: br' -H "If-None-Match: $ei"
check changed-file-new-etag "$(status ch) $(hdr ch Content-Encoding)|$([ "$(hdr ch ETag)" != "$ei" ] && echo new)" "200 |new"

# ---- HEAD, redirects, methods ------------------------------------------------------
# raw HEAD PATH [FIELD...]: HEAD then GET of PATH on one connection;
# prints the HEAD's status line and fields, and "next: <the GET's status
# line>" -- right after the HEAD's blank line when it sent no body.
raw() {
  /usr/bin/python3.11 - "$P" "$@" <<'PY'
import socket, sys
port, path, extra = int(sys.argv[1]), sys.argv[2], "".join(h + "\r\n" for h in sys.argv[3:])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n%s\r\nGET /web/tiny.txt HTTP/1.1\r\nHost: x\r\n\r\n" % (path, extra)).encode())
data = b""
while data.count(b"\r\n\r\n") < 2:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
head, rest = data.split(b"\r\n\r\n", 1)
print(head.decode().replace("\r\n", "\n"))
print("next:", rest.split(b"\r\n", 1)[0].decode())
PY
}
raw /web/stale.js 'Accept-Encoding: gzip' >"$T/hd.head"
check head "$(status hd) $(hdr hd Content-Length) $(hdr hd Content-Encoding)|$(hdr hd Content-Type)|$(grep -c '^next: HTTP/1.1 200' "$T/hd.head")" \
      "200 $(wc -c <"$W/stale.js") |text/javascript; charset=utf-8|1"
raw /web/big.js.none >"$T/hd.head"
check head-missing "$(status hd) $(grep -c '^next: HTTP/1.1 200' "$T/hd.head")" "404 1"
raw /web/tiny.txt 'Accept-Encoding: br' >"$T/hb.head"
get tg /web/tiny.txt
check head-same-as-get "$(hdr hb Content-Length) $(hdr hb ETag) $(grep -c '^next: HTTP/1.1 200' "$T/hb.head")" "5 $(hdr tg ETag) 1"
get root /
check root-redirects "$(status root) $(hdr root Location)" "302 /web/playground/"
check root-followed "$(curl -s -L "$U/")" "$(cat "$W/playground/index.html")"
get dir /web/playground
check directory-redirects "$(status dir) $(hdr dir Location)" "302 /web/playground/"
get post /web/big.js -X POST
check post-refused "$(status post) $(hdr post Allow)" "405 GET, HEAD"

# ---- confinement ----------------------------------------------------------------
get up /web/../secret.txt --path-as-is
check dotdot-refused "$(status up)" 400
get up2 /web/%2e%2e/secret.txt --path-as-is
check dotdot-encoded-refused "$(status up2)" 400
get up3 /web/sub/..%2f..%2fsecret.txt --path-as-is
check dotdot-slash-encoded-refused "$(status up3)" 400
get leak /web/leak.txt
check symlink-out-refused "$(status leak) $(grep -c SECRET "$T/leak.body")" "404 0"
get evil /web/evil.js -H 'Accept-Encoding: br'
check sibling-out-ignored "$(status evil) $(hdr evil Content-Encoding)|$(same evil "$W/evil.js")" "200 |identical"
get stale /web/stale.js -H 'Accept-Encoding: br, gzip'
check stale-sibling-ignored "$(hdr stale Content-Encoding)|$(same stale "$W/stale.js")" "|identical"
get nul /web/big.js%00.br --path-as-is
check nul-refused "$(status nul)" 400

# ---- an app's / is its own ----------------------------------------------------------
# serve_app NAME ROUTE: a Spin app answering "app" on ROUTE with --playground;
# prints what GET / and GET /web/tiny.txt answer.
serve_app() {
  local A=$T/$1 P3 AP3
  mkdir -p "$A/app"
  printf 'from spin_sdk import http\nfrom spin_sdk.http import Response\nclass IncomingHandler(http.IncomingHandler):\n    def handle_request(self, request):\n        return Response(200, {}, b"app")\n' >"$A/app/app.py"
  printf '[app]\nname = "%s"\nstyle = "spin"\ndir = "app"\n%b' "$1" "$2" >"$A/krait.toml"
  P3=$(free_port) AP3=$(free_port)
  start "$A" "$P3" "$AP3" --playground >/dev/null || { echo "no server"; return; }
  echo "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P3/")" \
       "$(curl -s "http://127.0.0.1:$P3/")" "$(curl -s "http://127.0.0.1:$P3/web/tiny.txt")"
  kill "$SERVER"
}
if [ -f "$ROOT/build/python/python.wasm" ]; then
  check app-at-everything-keeps-root "$(serve_app all '')" "200 app tiny"
  check app-at-root-keeps-root "$(serve_app root 'route = "/"\n')" "200 app tiny"
  check app-elsewhere-root-redirects "$(serve_app hello 'route = "/hello"\n')" "302 Found: /web/playground/ tiny"
else echo "(no build/python/python.wasm: apps beside the playground not checked)"; fi

# ---- make web's assets (when built) ------------------------------------------------
B=${KRAIT_WEB_BUILD:-$ROOT/build/web}
if [ -f "$B/python/python.wasm.br" ]; then
  P2=$(free_port) AP2=$(free_port)
  mkdir -p "$T/empty2"
  if KRAIT_WEB=$B start "$T/empty2" "$P2" "$AP2" --playground; then
    for f in python/python.wasm python/python311.zip python/python.snapshot krait.js; do
      for e in br gzip; do
        U=http://127.0.0.1:$P2 get real "/web/$f" -H "Accept-Encoding: $e"
        check "real-$e-$f" "$(hdr real Content-Encoding) $(same real "$B/$f") $(hdr real Content-Length)" \
              "$e identical $(wc -c <"$B/$f.${e/gzip/gz}")"
      done
    done
  else bad real-assets "krait serve did not start on $B"; fi
else echo "(no $B/python/python.wasm.br: make web's assets not checked)"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
