# tests/python/asyncio_tasks.py -- runs CPython's test_asyncio.test_tasks
# under krait python with the socket guard lifted. On WASI, regrtest skips
# the whole test_asyncio package ("requires socket support"), as CPython's
# own WASI CI does, because the stock event loop needs socketpair(); krait's
# python needs none (python/lib/sitecustomize.py), so the suite can run.
# Tests that start threads (to_thread, run_coroutine_threadsafe, the default
# executor) are skipped: WASI has no threads. Writes a JUnit file (argv[1])
# in regrtest's shape for tests/python/cpython.sh.
import sys
import threading
import unittest
from xml.etree import ElementTree as ET

from test import support

support.requires_working_socket = lambda module=False: None


def _no_threads(self):
    raise unittest.SkipTest("WASI has no threads")


threading.Thread.start = _no_threads

import test.test_asyncio.test_tasks as tasks  # noqa: E402 (after the patch)


class Recorder(unittest.TextTestResult):
    """Keeps every test's outcome for the JUnit file."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes.setdefault(test.id(), "ok")

    def addError(self, test, err):
        super().addError(test, err)
        self.outcomes[test.id()] = "error"

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcomes[test.id()] = "failure"

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcomes[test.id()] = "skipped"


runner = unittest.TextTestRunner(verbosity=1, resultclass=Recorder)
result = runner.run(unittest.defaultTestLoader.loadTestsFromModule(tasks))
suite = ET.Element("testsuite", name="test_asyncio.test_tasks")
for name, outcome in sorted(result.outcomes.items()):
    case = ET.SubElement(suite, "testcase", name=name)
    if outcome != "ok":
        ET.SubElement(case, outcome)
root = ET.Element("testsuites")
root.append(suite)
ET.ElementTree(root).write(sys.argv[1])
sys.exit(0 if result.wasSuccessful() else 1)
