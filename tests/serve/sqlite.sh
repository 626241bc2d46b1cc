#!/bin/bash
# tests/serve/sqlite.sh -- the sqlite binding over real sockets and real
# SQLite files: a Spin app (spin_sdk.sqlite) and a Cloudflare app (D1 on
# env.DB) doing CRUD with bound parameters; an injection attempt through a
# parameter stays data; ungranted databases are refused naming
# sqlite_databases (also for a cloudflare env); a query running past the
# request's deadline is stopped (504) and the server stays up; a result over
# 16 MiB fails clearly; acknowledged writes survive kill -9; an undeclared
# database is a file:line manifest error; krait build leaves the database
# files out of the artifact; the hardening: fts3_tokenizer, load_extension,
# ATTACH/DETACH and unlisted PRAGMAs refused naming what, values capped at
# 16 MiB, the file at max_disk_mb, exec scripts at the deadline, fuel-only
# apps at 100M VM steps per call, connection slots reused, call requests
# at 32 MiB, D1 changes of a read 0 and a failed ROLLBACK keeping the
# error. Ends with "N passed, N failed". Needs
# build/krait and `make python`. Does not own the binding (src/app/sqldb.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"

A=$T/apps
mkdir -p "$A/sp" "$A/cf" "$A/none" "$A/slow" "$A/fuel" "$A/disk" "$A/wsgi"
cat >"$A/wsgi/app.py" <<'EOF'
# a WSGI app uses the Spin API (spin_sdk.sqlite) on the same database
from spin_sdk import sqlite
from spin_sdk.sqlite import Value_Text
def app(environ, start_response):
    with sqlite.open_default() as db:
        r = db.execute("SELECT count(*) FROM notes WHERE name = ?", [Value_Text("ada")])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"wsgi sees {r.rows[0].values[0].value}".encode()]
EOF
cat >"$A/sp/app.py" <<'EOF'
from urllib.parse import parse_qs
from spin_sdk import http, sqlite
from spin_sdk.http import Response
from spin_sdk.sqlite import Value_Integer, Value_Real, Value_Text, Value_Blob, Value_Null
from spin_sdk.wit.types import Err

def show(v):
    return "null" if isinstance(v, Value_Null) else repr(v.value)

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        q = {k: v[0] for k, v in parse_qs(query).items()}
        op = path.split("/")[2]
        try:
            if op == "setup":
                with sqlite.open_default() as db:
                    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, "
                               "name TEXT, score REAL, data BLOB, extra)", [])
                return Response(200, {}, b"ready")
            db = sqlite.open_default()
            if op == "put":
                db.execute("INSERT INTO notes (name, score, data, extra) VALUES (?, ?, ?, ?)",
                           [Value_Text(q["name"]), Value_Real(float(q.get("score", "1.5"))),
                            Value_Blob(b"\x00\xffbin"), Value_Null()])
                r = db.execute("SELECT last_insert_rowid()", [])
                return Response(200, {}, str(r.rows[0].values[0].value).encode())
            if op == "get":
                r = db.execute("SELECT id, name, score, data, extra FROM notes WHERE name = ?",
                               [Value_Text(q["name"])])
                body = ",".join(r.columns) + "|" + ";".join(
                    " ".join(show(v) for v in row.values) for row in r.rows)
                return Response(200, {}, body.encode())
            if op == "update":
                db.execute("UPDATE notes SET score = ? WHERE id = ?",
                           [Value_Real(float(q["score"])), Value_Integer(int(q["id"]))])
                return Response(200, {}, b"updated")
            if op == "delete":
                db.execute("DELETE FROM notes WHERE name = ?", [Value_Text(q["name"])])
                return Response(200, {}, b"deleted")
            if op == "count":
                r = db.execute("SELECT count(*) FROM notes", [])
                return Response(200, {}, str(r.rows[0].values[0].value).encode())
            if op == "tables":
                r = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", [])
                return Response(200, {}, ",".join(x.values[0].value for x in r.rows).encode())
            if op == "other":
                sqlite.open("other")
            if op == "big":
                db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                           "WHERE x < 40) SELECT x, zeroblob(1000000) FROM c", [])
                return Response(200, {}, b"no limit")
            if op == "two":
                db.execute("SELECT 1; SELECT 2", [])
            if op == "attach":
                db.execute("ATTACH DATABASE ? AS x", [Value_Text(q["p"])])
                return Response(200, {}, b"attached")
            if op == "raw":   # the channel itself: unknown operations, malformed payloads
                import _krait
                out = []
                for name, payload in (("nosuch.op", b""), ("sqlite.execute", b"\x00"),
                                      ("sqlite.execute", b"\x00" * 4 + b"\xff" * 4),
                                      ("sqlite.close", b"\x07\x00\x00\x00"),
                                      ("sqlite.exec", b"\x00" * ((32 << 20) + 1))):
                    try:
                        _krait.call(name, payload)
                        out.append("accepted")
                    except _krait.CallError as e:
                        out.append(f"{e.args[0]} {e.args[1]}")
                out.append(f"codes {_krait.E_NOTFOUND} {_krait.E_INVAL} {_krait.E_STATE} {_krait.E_TIMEOUT}")
                return Response(200, {}, "\n".join(out).encode())
            if op == "pragma":
                r = db.execute("PRAGMA " + q["p"], [])
                return Response(200, {}, str(r.rows[0].values[0].value).encode())
            if op == "sql":   # any one statement; b=N binds an N-byte blob, t=S a text
                ps = ([Value_Blob(b"\x41" * int(q["b"]))] if "b" in q else []) + \
                     ([Value_Text(q["t"])] if "t" in q else [])
                r = db.execute(q["s"], ps)
                v = r.rows[0].values[0] if r.rows else None
                shown = "none" if v is None else show(v)
                return Response(200, {}, f"{shown} changes".encode())
            if op == "churn":   # 1000 open/close in one request, then 17 at once
                most = 0   # db holds slot 0: every open reuses slot 1
                for _ in range(1000):
                    c = sqlite.open_default()
                    most = max(most, c._handle)
                    c.execute("SELECT 1", [])
                    c.close()
                held = [sqlite.open_default() for _ in range(15)]   # db is the 16th
                try:
                    sqlite.open_default()
                    over = "opened a 17th"
                except Err as e:
                    over = str(e)
                return Response(200, {}, f"{most} {over}".encode())
            if op == "cache":   # kept statements: rebound, re-prepared after DDL, evicted
                a = [db.execute("SELECT ? * 2", [Value_Integer(i)]).rows[0].values[0].value
                     for i in range(3)]
                db.execute("CREATE TEMP TABLE k (x)", [])
                db.execute("INSERT INTO k VALUES (1), (2)", [])
                n1 = len(db.execute("SELECT * FROM k", []).columns)
                db.execute("ALTER TABLE k ADD COLUMN y", [])
                n2 = len(db.execute("SELECT * FROM k", []).columns)
                for i in range(40):   # more distinct statements than the cache keeps
                    db.execute(f"SELECT {i}", [])
                try:
                    db.execute("SELECT ?", [])
                except Err:
                    pass
                one = db.execute("SELECT ?", [Value_Text("x")]).rows[0].values[0].value
                return Response(200, {}, f"{a} {n1} {n2} {one}".encode())
            if op == "leave":   # leaves state on its connection for the next request
                db.execute("CREATE TEMP TABLE mine (x)", []) if q.get("temp") else None
                db.execute("PRAGMA foreign_keys = ON", [])
                db.execute("BEGIN", [])
                db.execute("INSERT INTO notes (name) VALUES ('uncommitted')", [])
                return Response(200, {}, b"left")
            if op == "fresh":   # what a request finds on its (maybe reused) connection
                fk = db.execute("PRAGMA foreign_keys", []).rows[0].values[0].value
                rowid = db.execute("SELECT last_insert_rowid()", []).rows[0].values[0].value
                left = db.execute("SELECT count(*) FROM notes WHERE name = 'uncommitted'", [])
                temp = db.execute("SELECT count(*) FROM temp.sqlite_schema", [])
                db.execute("INSERT INTO notes (name) VALUES ('writer')", [])   # not locked out
                db.execute("DELETE FROM notes WHERE name = 'writer'", [])
                return Response(200, {}, f"fk={fk} rowid={rowid} uncommitted={left.rows[0].values[0].value} "
                                         f"temp={temp.rows[0].values[0].value}".encode())
            if op == "stmts":   # other requests' SQL text is not readable
                db.execute("SELECT sql FROM sqlite_stmt", [])
                return Response(200, {}, b"read sqlite_stmt")
            if op == "ddlchanges":   # a statement changing no row reports 0 changes
                import krait_sqlite
                db.execute("INSERT INTO notes (name) VALUES ('c1'), ('c2'), ('c3')", [])
                got = [krait_sqlite.execute(db._handle, sql, [], lambda t, v: v)[2] for sql in (
                    "CREATE TABLE IF NOT EXISTS ddl (x)", "DROP TABLE ddl", "SELECT 1",
                    "DELETE FROM notes WHERE name IN ('c1', 'c2', 'c3')")]
                return Response(200, {}, repr(got).encode())
            if op == "bigtemp":   # grows the temp database, then drops what it made
                db.execute("CREATE TEMP TABLE big (b)", [])
                db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                           "WHERE x < 40) INSERT INTO big SELECT randomblob(100000) FROM c", [])
                db.execute("DROP TABLE big", [])
                return Response(200, {}, b"grew")
            if op == "temppages":
                r = db.execute("PRAGMA temp.page_count", [])
                return Response(200, {}, str(r.rows[0].values[0].value).encode())
            if op == "vacuum":
                db.execute("VACUUM INTO ?", [Value_Text(q["p"])])
                return Response(200, {}, b"vacuumed")
            if op == "closed":
                db.close()
                db.execute("SELECT 1", [])
            return Response(404, {}, b"no")
        except Err as e:
            kind = type(e.value).__name__
            return Response(400, {}, f"{kind} {isinstance(e, PermissionError)}: {e}".encode())
EOF
cat >"$A/none/app.py" <<'EOF'
from spin_sdk import http, sqlite
from spin_sdk.http import Response
from spin_sdk.wit.types import Err
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        try:
            sqlite.open_default()
        except PermissionError as e:
            return Response(403, {}, f"{type(e.value).__name__}: {e}".encode())
        return Response(200, {}, b"opened")
EOF
cat >"$A/slow/app.py" <<'EOF'
from spin_sdk import http, sqlite
from spin_sdk.http import Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        db = sqlite.open_default()
        if request.uri.endswith("/script"):   # many short statements, each few VM steps
            import krait_sqlite
            krait_sqlite.exec_script(db._handle, "SELECT length(hex(zeroblob(4000000)));" * 400)
            return Response(200, {}, b"script ran")
        if request.uri.endswith("/tempfill"):   # the temp database is capped too
            from spin_sdk.wit.types import Err
            db.execute("CREATE TEMP TABLE fill (b BLOB)", [])
            try:
                for _ in range(20):
                    db.execute("INSERT INTO fill VALUES (randomblob(200000))", [])
            except Err as e:
                return Response(200, {}, f"{type(e.value).__name__}: {e}".encode())
            return Response(200, {}, b"filled 4 MB of temp")
        if request.uri.endswith("/fill"):   # grows the file past max_disk_mb
            from spin_sdk.wit.types import Err
            db.execute("CREATE TABLE IF NOT EXISTS fill (b BLOB)", [])
            try:
                for _ in range(20):
                    db.execute("INSERT INTO fill VALUES (randomblob(200000))", [])
            except Err as e:
                return Response(200, {}, f"{type(e.value).__name__}: {e}".encode())
            finally:
                db.execute("DROP TABLE fill", [])
            return Response(200, {}, b"filled 4 MB")
        if request.uri.endswith("/spin"):
            r = db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                           "SELECT count(*) FROM c", [])
        r = db.execute("SELECT 40 + 2", [])
        return Response(200, {}, str(r.rows[0].values[0].value).encode())
EOF
cp "$A/slow/app.py" "$A/fuel/app.py"
cp "$A/slow/app.py" "$A/disk/app.py"
cat >"$A/cf/app.py" <<'EOF'
import json
from urllib.parse import urlparse, parse_qs
from workers import WorkerEntrypoint, Response

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        u = urlparse(request.url)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        op = u.path.split("/")[2]
        db = self.env.DB
        try:
            if op == "setup":
                r = await db.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);"
                                  "CREATE TABLE IF NOT EXISTS log (n INTEGER)")
                return Response(str(r.count))
            if op == "put":
                r = await db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)").bind(q["k"], q["v"]).run()
                return Response(f"{r.success} {r.meta.changes}")
            if op == "get":
                v = await db.prepare("SELECT v FROM kv WHERE k = ?").bind(q["k"]).first("v")
                return Response(json.dumps(v))
            if op == "all":
                r = await db.prepare("SELECT k, v FROM kv ORDER BY k").all()
                return Response(json.dumps([row.to_py() for row in r.results]))
            if op == "batch":   # the second statement fails: neither lands
                try:
                    await db.batch([db.prepare("INSERT INTO log (n) VALUES (?)").bind(1),
                                    db.prepare("INSERT INTO nosuch (n) VALUES (?)").bind(2)])
                except Exception as e:
                    pass
                ok = await db.batch([db.prepare("INSERT INTO log (n) VALUES (?)").bind(3),
                                     db.prepare("INSERT INTO log (n) VALUES (?)").bind(4)])
                r = await db.prepare("SELECT group_concat(n) AS s FROM log").first()
                return Response(f"{len(ok)} {r['s']}")
            if op == "changes":   # a read after a write reports 0 changes
                r = await db.batch([db.prepare("INSERT INTO log (n) VALUES (?)").bind(5),
                                    db.prepare("SELECT n FROM log"),
                                    db.prepare("UPDATE log SET n = n WHERE n < 0")])
                one = await db.prepare("SELECT count(*) AS c FROM log").run()
                return Response(" ".join(str(x.meta.changes) for x in r) + f" {one.meta.changes}")
            if op == "rollback":   # ROLLBACK fails (COMMIT ended the transaction): the error stays
                try:
                    await db.batch([db.prepare("COMMIT"), db.prepare("INSERT INTO nosuch (n) VALUES (1)")])
                except Exception as e:
                    return Response(f"{type(e).__name__}: {e}")
                return Response("no error")
            if op == "nope":
                self.env.NOPE
        except Exception as e:
            return Response(f"{type(e).__name__}: {e}", status=400)
        return Response("no", status=404)
EOF
{
  app_toml sp spin 'sqlite_databases = ["default"]'
  app_toml cf cloudflare 'sqlite_databases = ["DB"]'
  app_toml none spin
  app_toml slow spin 'sqlite_databases = ["default"]' "[app.limits]" "timeout_ms = 1500"
  app_toml fuel spin 'sqlite_databases = ["default"]' "[app.limits]" "timeout_ms = 0" "fuel = 100000000000000"
  app_toml disk spin 'sqlite_databases = ["default"]' "[app.limits]" "max_disk_mb = 1"
  app_toml wsgi wsgi 'wsgi = "app:app"' 'sqlite_databases = ["default"]'
  printf '[sqlite_databases.DB]\npath = "cf/d1.sqlite"\n'
} >"$A/krait.toml"

serve_apps "$A"

# ---- Spin: CRUD with every value type --------------------------------------
check spin-setup "$(curl -s "$U/sp/setup")" "ready"
check spin-insert "$(curl -s "$U/sp/put?name=ada&score=2.5")" "1"
check spin-select "$(curl -s "$U/sp/get?name=ada")" "id,name,score,data,extra|1 'ada' 2.5 b'\\x00\\xffbin' null"
check spin-update "$(curl -s "$U/sp/update?id=1&score=9.25")" "updated"
check spin-select-updated "$(curl -s "$U/sp/get?name=ada" | cut -d' ' -f3)" "9.25"
curl -s "$U/sp/put?name=bob" >/dev/null
check spin-delete "$(curl -s "$U/sp/delete?name=bob")" "deleted"
check spin-count "$(curl -s "$U/sp/count")" "1"
check wsgi-spin-api "$(curl -s "$U/wsgi/")" "wsgi sees 1"
check spin-file-on-host "$([ -s "$A/.krait/default.sqlite" ] && echo yes)" "yes"
check spin-wal-mode "$($PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("pragma journal_mode").fetchone()[0])' "$A/.krait/default.sqlite")" "wal"

# ---- injection through a parameter stays data ------------------------------
EVIL="x'); DROP TABLE notes; --"
ENC=$(urlenc "$EVIL")
check injection-insert "$(curl -s "$U/sp/put?name=$ENC")" "2"
check injection-stored-verbatim "$(curl -s "$U/sp/get?name=$ENC" | cut -d'|' -f2 | cut -d' ' -f2-)" "\"x'); DROP TABLE notes; --\" 1.5 b'\\x00\\xffbin' null"
check injection-table-intact "$(curl -s "$U/sp/tables")" "notes"
check injection-where-stays-data "$(curl -s "$U/sp/get?name=$(urlenc "x OR 1=1")")" "id,name,score,data,extra|"

# ---- grants ------------------------------------------------------------------
got=$(curl -s "$U/none/")
case $got in *"Error_AccessDenied: sqlite database \"default\" is not granted to app \"none\""*"sqlite_databases"*) ok denied-default-names-key ;;
  *) bad denied-default-names-key "$got" ;; esac
got=$(curl -s "$U/sp/other")
case $got in *"Error_AccessDenied True: "*"\"other\""*"sqlite_databases"*"[sqlite_databases.NAME]"*) ok denied-other-names-key ;;
  *) bad denied-other-names-key "$got" ;; esac
got=$(curl -s "$U/cf/nope")
case $got in *"AttributeError"*"sqlite_databases"*) ok cf-unbound-names-key ;; *) bad cf-unbound-names-key "$got" ;; esac
got=$(curl -s "$U/sp/attach?p=$T/attached.db")
case $got in *"Error_AccessDenied"*"ATTACH is refused"*) ok attach-refused ;; *) bad attach-refused "$got" ;; esac
got=$(curl -s "$U/sp/raw")
check channel-unknown-op "$(echo "$got" | sed -n 1p)" "-1 call: no host operation \"nosuch.op\" in this krait"
case $(echo "$got" | sed -n 2p) in "-2 sqlite.execute: malformed request"*) ok channel-malformed-short ;; *) bad channel-malformed-short "$got" ;; esac
case $(echo "$got" | sed -n 3p) in "-2 sqlite.execute: malformed request"*) ok channel-malformed-length ;; *) bad channel-malformed-length "$got" ;; esac
check channel-bad-handle "$(echo "$got" | sed -n 4p)" "-6 sqlite.close: connection 7 is not open (closed, or never opened in this request)"
check channel-request-cap "$(echo "$got" | sed -n 5p)" "-4 sqlite.exec: the request is over the 33554432-byte limit (32 MiB)"
check channel-codes-in-module "$(echo "$got" | sed -n 6p)" "codes -1 -2 -6 -7"
got=$(curl -s "$U/sp/vacuum?p=$T/vacuumed.db")
case $got in *"Error_AccessDenied"*"ATTACH is refused"*) ok vacuum-into-refused ;; *) bad vacuum-into-refused "$got" ;; esac
check vacuum-made-no-file "$([ -e "$T/vacuumed.db" ] && echo made || echo none)" "none"
check statement-cache "$(curl -s "$U/sp/cache")" "[0, 2, 4] 1 2 x"
# connections are kept between requests: nothing of one request's own is left
for i in 1 2 3; do
  curl -s "$U/sp/leave" >/dev/null
  check "reused-connection-clean-$i" "$(curl -s "$U/sp/fresh")" "fk=0 rowid=0 uncommitted=0 temp=0"
  curl -s "$U/sp/leave?temp=1" >/dev/null
  check "temp-schema-connection-closed-$i" "$(curl -s "$U/sp/fresh")" "fk=0 rowid=0 uncommitted=0 temp=0"
done
check sqlite-stmt-refused "$(curl -s "$U/sp/stmts")" "Error_AccessDenied True: sqlite.execute: reading sqlite_stmt is refused: krait's sqlite binding does not let apps change the connection's safety settings, attach files or reach host pointers (docs/SECURITY.md)"
check ddl-reports-no-changes "$(curl -s "$U/sp/ddlchanges")" "[0, 0, 0, 3]"
for i in 1 2 3; do
  curl -s "$U/sp/bigtemp" >/dev/null
  got=$(curl -s "$U/sp/temppages")
  if [ "$got" -le 64 ] 2>/dev/null; then ok "grown-temp-connection-closed-$i ($got pages)"; else bad "grown-temp-connection-closed-$i" "$got"; fi
done
check synchronous-full "$(curl -s "$U/sp/pragma?p=synchronous")" "2"
check journal-wal "$(curl -s "$U/sp/pragma?p=journal_mode")" "wal"
check attach-made-no-file "$([ -e "$T/attached.db" ] && echo made || echo none)" "none"

# ---- what the binding refuses (docs/SECURITY.md) ----------------------------
sq() { curl -s --max-time 20 "$U/sp/sql?s=$(urlenc "$1")${2:+&$2}"; }
refused() {   # name, sql, what the error names[, extra query]
  local got; got=$(sq "$2" "${4:-}")
  case $got in *"Error_AccessDenied"*"$3 is refused"*"docs/SECURITY.md"*) ok "$1" ;; *) bad "$1" "$got" ;; esac
}
refused fts3-tokenizer-1-arg "SELECT fts3_tokenizer('simple')" "the function fts3_tokenizer()"
refused fts3-tokenizer-2-args-bound "SELECT fts3_tokenizer('simple', ?)" "the function fts3_tokenizer()" "b=8"
refused fts3-tokenizer-name-bound "SELECT fts3_tokenizer(?)" "the function fts3_tokenizer()" "t=simple"
refused load-extension "SELECT load_extension('/tmp/x.so')" "the function load_extension()"
refused pragma-hard-heap-limit "PRAGMA hard_heap_limit = 1" "PRAGMA hard_heap_limit with a value"
refused pragma-hard-heap-limit-read "PRAGMA hard_heap_limit" "PRAGMA hard_heap_limit"
refused pragma-hard-heap-limit-vtab "SELECT * FROM pragma_hard_heap_limit" "PRAGMA hard_heap_limit"
refused pragma-temp-store-directory "PRAGMA temp_store_directory = '/tmp'" "PRAGMA temp_store_directory with a value"
refused pragma-journal-mode-set "PRAGMA journal_mode = DELETE" "PRAGMA journal_mode with a value"
refused pragma-synchronous-set "PRAGMA synchronous = OFF" "PRAGMA synchronous with a value"
refused pragma-writable-schema "PRAGMA writable_schema = 1" "PRAGMA writable_schema with a value"
refused pragma-trusted-schema "PRAGMA trusted_schema = 1" "PRAGMA trusted_schema with a value"
refused pragma-mmap-size "PRAGMA mmap_size = 1000000000" "PRAGMA mmap_size with a value"
refused pragma-max-page-count-set "PRAGMA max_page_count = 99999999" "PRAGMA max_page_count with a value"
refused detach "DETACH DATABASE main" "DETACH"
# a schema the guest wrote runs without the authorizer: the functions
# themselves are replaced (a CHECK added by ALTER TABLE calls them)
sq "CREATE TABLE ck(a)" >/dev/null
sq "ALTER TABLE ck ADD COLUMN c CHECK (c IS NULL OR fts3_tokenizer('simple') IS NOT NULL)" >/dev/null
got=$(sq "INSERT INTO ck(c) VALUES (1)")
case $got in *"the function is refused to apps (docs/SECURITY.md)"*) ok fts3-tokenizer-in-schema-refused ;;
  *) bad fts3-tokenizer-in-schema-refused "$got" ;; esac
sq "DROP TABLE ck" >/dev/null
# instr and replace keep SQLite's meaning, in linear time
check instr-text "$(sq "SELECT instr('hello w', 'llo')")" "3 changes"
check instr-utf8-chars "$(sq "SELECT instr(char(104, 233, 108, 108, 111), 'llo')")" "3 changes"
check instr-blob-bytes "$(sq "SELECT instr(x'c3a96c6c6f', x'6c6c6f')")" "3 changes"
check instr-empty "$(sq "SELECT instr('abc', '')")" "1 changes"
check instr-none "$(sq "SELECT instr('abc', 'x')")" "0 changes"
check instr-null "$(sq "SELECT instr(NULL, 'a')")" "null changes"
check replace-grows "$(sq "SELECT replace('aXbXc', 'X', '--')")" "'a--b--c' changes"
check replace-empty-pattern "$(sq "SELECT replace('abc', '', 'x')")" "'abc' changes"
check replace-null "$(sq "SELECT replace('abc', 'b', NULL)")" "null changes"
for f in "instr(x, substr(x, 1, 3999999) || '1')" "length(replace(x, substr(x, 1, 3999999) || '1', ''))"; do
  timed sq "WITH s(x) AS (SELECT hex(zeroblob(4000000))) SELECT $f FROM s"
  case $GOT in "0 changes"|"8000000 changes") [ "$MS" -lt 3000 ] && ok "linear ${f%%(*} (${MS} ms)" || bad "linear ${f%%(*}" "$MS ms" ;;
    *) bad "linear ${f%%(*}" "$GOT" ;; esac
done
got=$(sq "SELECT 'a' LIKE '%$(printf 'a%.0s' $(seq 300))'")
case $got in *"LIKE or GLOB pattern too complex"*) ok like-pattern-capped ;; *) bad like-pattern-capped "$got" ;; esac
# all of SQLite's memory is capped: one row of many 16 MiB values fails
cols=$(for i in $(seq 80); do printf 'hex(zeroblob(8000000)),'; done)
got=$(sq "SELECT ${cols%,}")
case $got in *"Error_Io"*"out of memory"*) ok heap-capped ;; *) bad heap-capped "$(echo "$got" | tail -c 300)" ;; esac
check pragma-table-info-allowed "$(sq "SELECT name FROM pragma_table_info('notes') LIMIT 1")" "'id' changes"
check pragma-foreign-keys-allowed "$(sq "PRAGMA foreign_keys = ON")" "none changes"
check pragma-user-version-allowed "$(sq "PRAGMA user_version")" "0 changes"
check crud-after-refusals "$(curl -s "$U/sp/count")" "2"
check journal-still-wal "$(curl -s "$U/sp/pragma?p=journal_mode")" "wal"

# ---- one value cannot take a gigabyte of host memory ---------------------------
for blob in "zeroblob(999999999)" "randomblob(200000000)" "hex(zeroblob(10000000))"; do
  timed sq "SELECT $blob"
  case $GOT in *"Error_Io"*"string or blob too big"*"at most 16 MiB"*) ok "value-cap $blob (${MS} ms)" ;; *) bad "value-cap $blob" "$GOT" ;; esac
done
check value-cap-server-stays-up "$(curl -s "$U/sp/count")" "2"

# ---- connection slots are reused, and capped per request -------------------------
got=$(curl -s --max-time 60 "$U/sp/churn")
case $got in "1 "*"16 connections are open in this request (the limit): close one first"*) ok "conn-slots-reused-and-capped" ;;
  *) bad conn-slots-reused-and-capped "$got" ;; esac

# ---- errors --------------------------------------------------------------------
got=$(curl -s "$U/sp/big")
case $got in *"Error_Io"*"over the 16777216-byte limit"*) ok result-size-limit ;; *) bad result-size-limit "$got" ;; esac
got=$(curl -s "$U/sp/two")
case $got in *"runs one statement"*) ok one-statement-per-execute ;; *) bad one-statement-per-execute "$got" ;; esac
got=$(curl -s "$U/sp/closed")
case $got in *"Error_InvalidConnection"*) ok closed-connection ;; *) bad closed-connection "$got" ;; esac
timed curl -s --max-time 20 -o /dev/null -w "%{http_code}" "$U/slow/spin"
check deadline-504 "$GOT" "504"
if [ "$MS" -lt 5000 ]; then ok "deadline-bounded (${MS} ms for timeout_ms 1500)"; else bad deadline-bounded "$MS ms"; fi
grep -q "stopped at the request's deadline" "$A/server.log" && ok deadline-logged || bad deadline-logged "$(tail -n 5 "$A/server.log")"
check deadline-server-stays-up "$(curl -s "$U/slow/ok")" "42"

timed curl -s --max-time 30 -o "$T/script.out" -w "%{http_code}" "$U/slow/script"
check script-deadline-504 "$GOT" "504"
if [ "$MS" -lt 4000 ]; then ok "script-deadline-bounded (${MS} ms for timeout_ms 1500)"; else bad script-deadline-bounded "$MS ms: $(cat "$T/script.out")"; fi
timed curl -s --max-time 60 -o /dev/null -w "%{http_code}" "$U/fuel/spin"
if [ "$GOT" = 500 ] && grep -q "\[fuel\] sqlite.execute: the query was stopped after 100000000 virtual machine steps" "$A/server.log"
then ok "fuel-only-step-cap (${MS} ms)"; else bad fuel-only-step-cap "$GOT $(tail -n 3 "$A/server.log")"; fi
check fuel-only-server-stays-up "$(curl -s "$U/fuel/ok")" "42"
got=$(curl -s --max-time 30 "$U/disk/fill")
case $got in "Error_DatabaseFull: "*"database or disk is full (the database may grow to 1 MiB: the app's max_disk_mb"*) ok db-size-capped-by-max-disk-mb ;;
  *) bad db-size-capped-by-max-disk-mb "$got" ;; esac

got=$(curl -s --max-time 30 "$U/disk/tempfill")
case $got in "Error_DatabaseFull: "*"database or disk is full"*) ok temp-db-capped-by-max-disk-mb ;;
  *) bad temp-db-capped-by-max-disk-mb "$got" ;; esac

# ---- Cloudflare D1 -------------------------------------------------------------
check d1-exec "$(curl -s "$U/cf/setup")" "2"
check d1-run "$(curl -s "$U/cf/put?k=a&v=1")" "True 1"
curl -s "$U/cf/put?k=b&v=$ENC" >/dev/null
check d1-first "$(curl -s "$U/cf/get?k=a")" '"1"'
check d1-first-none "$(curl -s "$U/cf/get?k=zz")" "null"
check d1-all "$(curl -s "$U/cf/all")" "[{\"k\": \"a\", \"v\": \"1\"}, {\"k\": \"b\", \"v\": \"x'); DROP TABLE notes; --\"}]"
check d1-batch-atomic "$(curl -s "$U/cf/batch")" "2 3,4"
check d1-changes-after-select "$(curl -s "$U/cf/changes")" "1 0 0 0"
case $(curl -s "$U/cf/rollback") in *"no such table: nosuch"*) ok d1-rollback-keeps-error ;; *) bad d1-rollback-keeps-error "$(curl -s "$U/cf/rollback")" ;; esac
check d1-file-declared-path "$([ -s "$A/cf/d1.sqlite" ] && echo yes)" "yes"

# ---- kill -9 after acknowledged writes ----------------------------------------
: >"$T/acked"
(i=0; while :; do i=$((i + 1))
   r=$(curl -s "$U/sp/put?name=k$i") && [ -n "$r" ] && [ "$r" -gt 0 ] 2>/dev/null && echo "$i" >>"$T/acked"
 done) &
W=$!
sleep 2
kill -9 "$SERVER"
kill "$W" 2>/dev/null; wait "$W" 2>/dev/null
n=$(wc -l <"$T/acked")
serve_again "$A"
missing=0
while read -r i; do
  case $(curl -s "$U/sp/get?name=k$i") in *"'k$i'"*) ;; *) missing=$((missing + 1)) ;; esac
done <"$T/acked"
if [ "$n" -gt 5 ] && [ $missing -eq 0 ]; then ok "durable-after-kill-9 ($n acknowledged writes)"
else bad durable-after-kill-9 "$missing of $n acknowledged writes missing"; fi
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null

# ---- manifest: undeclared names, artifacts --------------------------------------
mkdir -p "$T/bad"
cp "$A/none/app.py" "$T/bad/app.py"
printf '[app]\nname = "b"\nstyle = "spin"\nsqlite_databases = ["default",\n  "missing"]\n' >"$T/bad/krait.toml"
got=$("$K" build "$T/bad" 2>&1)
case $got in *"krait.toml:5:"*"SQLite database \"missing\""*"[sqlite_databases.missing]"*) ok undeclared-file-line ;;
  *) bad undeclared-file-line "$got" ;; esac
printf '[app]\nname = "b"\nstyle = "spin"\n\n[sqlite_databases.x]\npath = "a.db"\nmode = 1\n' >"$T/bad/krait.toml"
got=$("$K" build "$T/bad" 2>&1)
case $got in *"krait.toml:7:"*"unknown key \"mode\""*) ok unknown-key-file-line ;; *) bad unknown-key-file-line "$got" ;; esac

mkdir -p "$T/art"
cp "$A/sp/app.py" "$T/art/app.py"
printf '[app]\nname = "art"\nstyle = "spin"\nsqlite_databases = ["default", "notes"]\n\n[sqlite_databases.notes]\npath = "notes.sqlite"\n' >"$T/art/krait.toml"
head -c 300000 /dev/urandom >"$T/art/notes.sqlite"   # big and incompressible: noticed if bundled
if "$K" build "$T/art" >"$T/art-build.log" 2>&1; then
  size=$(stat -c %s "$T/art/.krait/art.krait")
  if [ "$size" -gt 0 ]; then ok build-with-sqlite; else bad build-with-sqlite "empty artifact"; fi
  rm -f "$T/art/notes.sqlite"
  "$K" build "$T/art" >/dev/null 2>&1
  size2=$(stat -c %s "$T/art/.krait/art.krait")
  d=$(( size > size2 ? size - size2 : size2 - size ))
  if [ "$d" -lt 100000 ]; then ok "build-leaves-db-out ($size vs $size2 bytes)"; else bad build-leaves-db-out "$size vs $size2 bytes"; fi
else
  bad build-with-sqlite "$(tail -n 5 "$T/art-build.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
