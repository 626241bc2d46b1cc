# bench/sqlite/native.py -- the native side of bench/sqlite.sh: work.py's
# workload NAME on the stdlib sqlite3 (same file, WAL, synchronous=FULL as
# the binding), printed as "queries nanoseconds check".
import sqlite3
import sys

import work


class _Db:
    """work.py's adapter over sqlite3 (autocommit, like the binding)."""

    def __init__(self, path):
        self.c = sqlite3.connect(path, isolation_level=None)
        self.c.execute("PRAGMA journal_mode=WAL")
        self.c.execute("PRAGMA synchronous=FULL")

    def query(self, sql, params):
        return self.c.execute(sql, params).fetchall()

    def exec(self, sql):
        self.c.executescript(sql) if ";" in sql else self.c.execute(sql)


n, ns, check = work.run(sys.argv[2], _Db(sys.argv[1]))
print(n, ns, check)
