# tests/sdk/test_sqlite.py -- the sqlite binding's guest side on native
# CPython (and under krait python): spin_sdk.sqlite's Spin v3 API and
# errors, workers' D1 (prepare/bind/all/first/run/raw, batch, exec), and
# krait_sqlite's wire format, with _krait_fake's call (Python's sqlite3)
# standing in for the host. Does not own the host (tests/serve/sqlite.sh).
# Run: /usr/bin/python3.11 -m unittest discover -s tests/sdk
import asyncio
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "python", "sdk")))
sys.path.insert(1, os.path.abspath(os.path.join(HERE, "..", "..", "python", "testing")))

import _krait_fake as fake  # noqa: E402
fake.install()
import krait_sqlite  # noqa: E402
import workers  # noqa: E402
from spin_sdk import sqlite  # noqa: E402
from spin_sdk.sqlite import (Value_Blob, Value_Integer, Value_Null, Value_Real,  # noqa: E402
                             Value_Text)
from spin_sdk.wit.types import Err  # noqa: E402


def run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


class SpinSqliteTest(unittest.TestCase):
    def setUp(self):
        fake.reset()
        fake.configure(name="app", sqlite=["default", "other"])

    def test_crud_and_value_types(self):
        with sqlite.open_default() as db:
            db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)", [])
            db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                       [Value_Integer(-(1 << 63)), Value_Real(2.5), Value_Text("é\u2603"),
                        Value_Blob(b"\x00\xff"), Value_Null()])
            r = db.execute("SELECT * FROM t", [])
        self.assertEqual(r.columns, ["i", "r", "s", "b", "n"])
        self.assertEqual(r.rows[0].values, [Value_Integer(-(1 << 63)), Value_Real(2.5),
                                            Value_Text("é\u2603"), Value_Blob(b"\x00\xff"),
                                            Value_Null()])
        self.assertEqual(r.rows[0].values[2].value, "é\u2603")

    def test_named_open_and_module_path(self):
        from spin_sdk.wit.imports import sqlite as generated
        db = sqlite.open("other")
        self.assertIsInstance(db, generated.Connection)
        self.assertEqual(db.execute("SELECT 1 + 1", []).rows[0].values[0], Value_Integer(2))

    def test_denied_names_the_key(self):
        with self.assertRaises(Err) as cm:
            sqlite.open("secret")
        self.assertIsInstance(cm.exception.value, sqlite.Error_AccessDenied)
        self.assertIsInstance(cm.exception, PermissionError)
        self.assertIn("sqlite_databases", str(cm.exception))
        self.assertIn('"secret"', str(cm.exception))

    def test_sql_error_is_error_io(self):
        db = sqlite.open_default()
        with self.assertRaises(Err) as cm:
            db.execute("SELECT * FROM nosuch", [])
        self.assertIsInstance(cm.exception.value, sqlite.Error_Io)
        self.assertIn("no such table", cm.exception.value.value)

    def test_closed_connection(self):
        db = sqlite.open_default()
        db.close()
        with self.assertRaises(Err) as cm:
            db.execute("SELECT 1", [])
        self.assertIsInstance(cm.exception.value, sqlite.Error_InvalidConnection)

    def test_host_refused_handle_is_invalid_connection(self):
        with self.assertRaises(Err) as cm:
            sqlite.Connection("default", 99).execute("SELECT 1", [])
        self.assertIsInstance(cm.exception.value, sqlite.Error_InvalidConnection)
        self.assertIn("connection 99 is not open", str(cm.exception))

    def test_injection_through_a_parameter_stays_data(self):
        db = sqlite.open_default()
        db.execute("CREATE TABLE u (name TEXT)", [])
        evil = "x'); DROP TABLE u; --"
        db.execute("INSERT INTO u VALUES (?)", [Value_Text(evil)])
        r = db.execute("SELECT name FROM u WHERE name = ?", [Value_Text(evil)])
        self.assertEqual(r.rows[0].values[0].value, evil)
        self.assertEqual(db.execute("SELECT count(*) FROM u", []).rows[0].values[0].value, 1)

    def test_parameters_must_be_values(self):
        db = sqlite.open_default()
        with self.assertRaises(TypeError):
            db.execute("SELECT ?", [5])


class WireTest(unittest.TestCase):
    def test_encodings(self):
        self.assertEqual(krait_sqlite.encode_plain(None), b"\0")
        self.assertEqual(krait_sqlite.encode_plain(True), struct.pack("<Bq", 1, 1))
        self.assertEqual(krait_sqlite.encode_plain(1.5), struct.pack("<Bd", 2, 1.5))
        self.assertEqual(krait_sqlite.encode_plain("é"), b"\x03\x02\0\0\0\xc3\xa9")
        self.assertEqual(krait_sqlite.encode_plain(b"ab"), b"\x04\x02\0\0\0ab")
        with self.assertRaises(OverflowError):
            krait_sqlite.encode_plain(1 << 63)
        with self.assertRaises(TypeError):
            krait_sqlite.encode_plain([1])


class D1Test(unittest.TestCase):
    def setUp(self):
        fake.reset()
        fake.configure(name="cf", sqlite=["DB"])
        self.env = workers.Env([], ["DB"])

    def test_prepare_bind_all_first_run(self):
        db = self.env.DB
        r = run(db.exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v); CREATE TABLE z (n)"))
        self.assertEqual(r.count, 2)
        r = run(db.prepare("INSERT INTO kv VALUES (?1, ?2)").bind("a", 1).run())
        self.assertTrue(r.success)
        self.assertEqual(r.meta.changes, 1)
        run(db.prepare("INSERT INTO kv VALUES (?, ?)").bind("b", None).run())
        rows = run(db.prepare("SELECT k, v FROM kv ORDER BY k").all()).results
        self.assertEqual([x.to_py() for x in rows], [{"k": "a", "v": 1}, {"k": "b", "v": None}])
        self.assertEqual(rows[0].k, "a")
        self.assertEqual(run(db.prepare("SELECT v FROM kv WHERE k = ?").bind("a").first("v")), 1)
        self.assertIsNone(run(db.prepare("SELECT v FROM kv WHERE k = ?").bind("q").first()))
        self.assertEqual(run(db.prepare("SELECT k FROM kv ORDER BY k").raw()), [["a"], ["b"]])

    def test_batch_is_one_transaction(self):
        db = self.env.DB
        run(db.exec("CREATE TABLE log (n INTEGER)"))
        with self.assertRaises(workers.D1Error):
            run(db.batch([db.prepare("INSERT INTO log VALUES (?)").bind(1),
                          db.prepare("INSERT INTO nosuch VALUES (?)").bind(2)]))
        self.assertEqual(run(db.prepare("SELECT count(*) AS c FROM log").first("c")), 0)
        out = run(db.batch([db.prepare("INSERT INTO log VALUES (?)").bind(3),
                            db.prepare("SELECT n FROM log")]))
        self.assertEqual(len(out), 2)
        self.assertEqual(out[1].results[0].n, 3)

    def test_ungranted(self):
        with self.assertRaises(AttributeError) as cm:
            self.env.OTHER
        self.assertIn("sqlite_databases", str(cm.exception))
        fake.configure(sqlite=[])
        with self.assertRaises(PermissionError) as cm:
            run(self.env.DB.prepare("SELECT 1").all())
        self.assertIn("sqlite_databases", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
