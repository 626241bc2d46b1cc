# bench/sqlite/work.py -- the SQLite workloads of bench/sqlite.sh, written
# once for both sides: run(name, db) with db a small adapter over
# spin_sdk.sqlite (krait serve) or the stdlib sqlite3 (native). Owns the
# workloads and their sizes; not the timing table (bench/sqlite.sh).
import time

ROWS = 10000
WORKLOADS = {          # name: (queries per run, what one query is)
    "point": 2000,     # SELECT v FROM t WHERE id = ?  (a primary-key lookup)
    "insert": 1000,    # INSERT INTO w(v) VALUES (?)  (all in one transaction)
    "scan": 5,         # SELECT id, v FROM t  (10,000 rows back each)
}


def setup(db):
    """Creates t (ROWS rows) and w once; idempotent."""
    db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT);"
            "CREATE TABLE IF NOT EXISTS w(id INTEGER PRIMARY KEY, v TEXT)")
    if db.query("SELECT count(*) FROM t", [])[0][0] < ROWS:
        db.exec("BEGIN")
        for i in range(ROWS):
            db.query("INSERT OR REPLACE INTO t(id, v) VALUES (?, ?)", [i, "value-%d" % i])
        db.exec("COMMIT")


def run(name, db):
    """Runs workload NAME; returns (queries, nanoseconds, check) where
    check is a value both sides must agree on."""
    n = WORKLOADS[name]
    t0 = time.perf_counter_ns()
    if name == "point":
        check = 0
        for i in range(n):
            check += len(db.query("SELECT v FROM t WHERE id = ?", [(i * 7919) % ROWS])[0][0])
    elif name == "insert":
        db.exec("BEGIN")
        for i in range(n):
            db.query("INSERT INTO w(v) VALUES (?)", ["row-%d" % i])
        db.exec("COMMIT")
        check = n
    else:
        check = 0
        for _ in range(n):
            check += len(db.query("SELECT id, v FROM t", []))
    ns = time.perf_counter_ns() - t0
    if name == "insert":
        db.exec("DELETE FROM w")
    return n, ns, check
