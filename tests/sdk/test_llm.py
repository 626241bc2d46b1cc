# tests/sdk/test_llm.py -- the llm binding's guest side on native CPython
# (and under krait python): spin_sdk.llm as Spin's (defaults, results, Err
# values, distinct not granted / not found / invalid input), env.AI.run
# (prompt, messages, text, Workers AI defaults, bad inputs), krait_llm's
# wire format, and an uncaught Busy answered 503 by krait_runtime (spin and
# WSGI). A fake llm.* host stands in (below). Does not own the host
# (tests/serve/llm.sh).
# Run: /usr/bin/python3.11 -m unittest discover -s tests/sdk
import asyncio
import os
import struct
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "python", "sdk")))
sys.path.insert(1, os.path.abspath(os.path.join(HERE, "..", "..", "python", "testing")))

import _krait_fake as fake  # noqa: E402
fake.install()
import krait_llm  # noqa: E402
import krait_runtime  # noqa: E402
import workers  # noqa: E402
from spin_sdk import llm  # noqa: E402
from spin_sdk.wit.types import Err  # noqa: E402

GRANTED = {"chat", "embed"}
CONFIGURED = GRANTED | {"other"}
seen = []          # (op, decoded request) the fake host received


def _strs(data, at, n):
    """n u32-length strings of data from at; (list, next offset)."""
    out = []
    for _ in range(n):
        k = struct.unpack_from("<I", data, at)[0]
        out.append(data[at + 4:at + 4 + k].decode())
        at += 4 + k
    return out, at


def _params(data, at):
    names = ("max_tokens", "temperature", "top_p", "repeat_penalty", "top_k", "repeat_last_n",
             "has_seed", "seed")
    vals = struct.unpack_from("<IfffIIBQ", data, at)
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in zip(names, vals)}


def _generation(text, prompt=3, generated=2):
    b = text.encode()
    return struct.pack("<I", len(b)) + b + struct.pack("<III", prompt, generated, 4) + b"stop"


def fake_llm(name, payload):
    """The host's llm.* on canned answers; errors as the host's codes."""
    data = bytes(payload)
    (model,), at = _strs(data, 0, 1)
    if model not in CONFIGURED:
        raise fake.CallError(fake.E_NOTFOUND, f'{name}: no model "{model}": it is not configured')
    if model not in GRANTED:
        raise PermissionError(f'{name}: model "{model}" is not granted to this app: add it to the '
                              f"app's ai_models in krait.toml")
    if name == "llm.embed":
        n = struct.unpack_from("<I", data, at)[0]
        texts, _ = _strs(data, at + 4, n)
        seen.append((name, texts))
        return struct.pack("<III", n, 2, 5) + b"".join(struct.pack("<2f", i, 0.5) for i in range(n))
    if name == "llm.chat":
        n = struct.unpack_from("<I", data, at)[0]
        flat, at = _strs(data, at + 4, 2 * n)
        seen.append((name, (list(zip(flat[::2], flat[1::2])), _params(data, at))))
        return _generation("chat answer")
    (prompt,), at = _strs(data, at, 1)
    p = _params(data, at)
    seen.append((name, (prompt, p)))
    codes = {"busy": fake.E_STATE, "late": fake.E_TIMEOUT, "bad": fake.E_INVAL, "boom": fake.E_BACKEND}
    if prompt in codes:
        raise fake.CallError(codes[prompt], f"{name}: {prompt} happened")
    return _generation("answer to " + prompt)


_call = fake.call


def call(name, payload):
    return fake_llm(name, payload) if name.startswith("llm.") else _call(name, payload)


def run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


class LlmTest(unittest.TestCase):
    def setUp(self):
        fake.reset()
        fake.call = call
        self.addCleanup(setattr, fake, "call", _call)
        seen.clear()


class SpinLlmTest(LlmTest):
    def test_infer_defaults_are_spins(self):
        r = llm.infer("chat", "hi")
        self.assertEqual(r.text, "answer to hi")
        self.assertEqual((r.usage.prompt_token_count, r.usage.generated_token_count), (3, 2))
        self.assertEqual(seen[-1][1][1], {"max_tokens": 100, "temperature": 0.8, "top_p": 0.9,
                                          "repeat_penalty": 1.1, "top_k": 40, "repeat_last_n": 64,
                                          "has_seed": 0, "seed": 0})
        self.assertEqual(llm.InferencingParams(), llm.LLMInferencingParams())

    def test_infer_with_options(self):
        r = llm.infer_with_options("chat", "write code", llm.InferencingParams(temperature=0.5, max_tokens=1024))
        self.assertIsInstance(r, llm.InferencingResult)
        self.assertIsInstance(r.usage, llm.InferencingUsage)
        p = seen[-1][1][1]
        self.assertEqual((p["max_tokens"], p["temperature"], p["top_k"]), (1024, 0.5, 40))
        llm.infer_with_options("chat", "x", None)
        self.assertEqual(seen[-1][1][1]["max_tokens"], 100)

    def test_embeddings(self):
        r = llm.generate_embeddings("embed", ["a", "b"])
        self.assertEqual(r.embeddings, [[0.0, 0.5], [1.0, 0.5]])
        self.assertEqual(r.usage.prompt_token_count, 5)
        self.assertEqual(seen[-1], ("llm.embed", ["a", "b"]))

    def err(self, f):
        with self.assertRaises(Err) as cm:
            f()
        return cm.exception

    def test_errors_are_distinct(self):
        e = self.err(lambda: llm.infer("other", "hi"))
        self.assertEqual(e.value, llm.Error_ModelNotSupported())
        self.assertIsInstance(e, krait_llm.ModelNotGranted)
        self.assertIsInstance(e, PermissionError)
        self.assertIn("ai_models", str(e))
        e = self.err(lambda: llm.infer("nope", "hi"))
        self.assertEqual(e.value, llm.Error_ModelNotSupported())
        self.assertIsInstance(e, krait_llm.ModelNotFound)
        self.assertNotIsInstance(e, krait_llm.ModelNotGranted)
        e = self.err(lambda: llm.infer("chat", "bad"))
        self.assertEqual(e.value, llm.Error_InvalidInput("llm.infer: bad happened"))
        self.assertIsInstance(e, krait_llm.InvalidInput)
        for prompt, kind in (("busy", krait_llm.Busy), ("late", krait_llm.DeadlineExceeded),
                             ("boom", krait_llm.ModelError)):
            e = self.err(lambda: llm.infer("chat", prompt))
            self.assertEqual(e.value, llm.Error_RuntimeError(f"llm.infer: {prompt} happened"))
            self.assertIsInstance(e, kind)

    def test_bad_parameters_are_invalid_input_before_the_host(self):
        e = self.err(lambda: llm.infer_with_options("chat", "x", llm.InferencingParams(max_tokens=-1)))
        self.assertIsInstance(e.value, llm.Error_InvalidInput)
        e = self.err(lambda: llm.infer_with_options("chat", "x", llm.InferencingParams(temperature=float("nan"))))
        self.assertIn("temperature", str(e))
        e = self.err(lambda: llm.infer("chat", b"bytes"))
        self.assertIn("the prompt must be a str", str(e))
        self.assertEqual(seen, [])

    def test_wit_module(self):
        from spin_sdk.wit.imports import llm as wit
        self.assertEqual(wit.infer("chat", "hi", None).text, "answer to hi")
        self.assertIs(wit.Error_ModelNotSupported, llm.Error_ModelNotSupported)


class WorkersAiTest(LlmTest):
    def test_prompt_messages_text(self):
        ai = workers.Env([], [], ["chat", "embed"]).AI
        r = run(ai.run("chat", {"prompt": "hi", "raw": True}))
        self.assertEqual(r["response"], "answer to hi")
        self.assertEqual(r.usage, {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        p = seen[-1][1][1]
        self.assertEqual((p["max_tokens"], p["temperature"], p["repeat_penalty"]), (256, 0.6, 1.0))
        # Without raw, as in Workers AI, a prompt is the user's turn under
        # the model's chat template.
        r = run(ai.run("chat", {"prompt": "hi"}))
        self.assertEqual(r["response"], "chat answer")
        self.assertEqual(seen[-1][1][0], [("user", "hi")])
        r = run(ai.run("chat", {"messages": [{"role": "system", "content": "s"},
                                             {"role": "user", "content": "u"}], "max_tokens": 9, "seed": 3}))
        self.assertEqual(r.response, "chat answer")
        self.assertEqual(seen[-1][1][0], [("system", "s"), ("user", "u")])
        self.assertEqual((seen[-1][1][1]["max_tokens"], seen[-1][1][1]["seed"]), (9, 3))
        e = run(ai.run("embed", {"text": ["a", "b", "c"]}))
        self.assertEqual(e["shape"], [3, 2])
        self.assertEqual(len(e["data"]), 3)
        self.assertEqual(run(ai.run("embed", {"text": "one"}))["shape"], [1, 2])

    def test_bad_inputs(self):
        ai = workers.Env([], [], ["chat"]).AI
        for inputs, msg in (({"prompt": "x", "foo": 1}, "unknown input ['foo']"),
                            ({"prompt": "x", "messages": []}, "exactly one of"),
                            ({}, "exactly one of"),
                            ({"prompt": "x", "stream": True}, "stream"),
                            ({"text": 3}, "text must be"),
                            ("prompt", "inputs must be an object")):
            with self.assertRaises(krait_llm.InvalidInput) as cm:
                run(ai.run("chat", inputs))
            self.assertIn(msg, str(cm.exception))
        with self.assertRaises(krait_llm.ModelNotGranted):
            run(ai.run("other", {"prompt": "x"}))

    def test_no_ai_without_models(self):
        self.assertNotIn("AI", vars(workers.Env([], [])))


class BusyIs503Test(LlmTest):
    def boot(self, source, **config):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        with open(os.path.join(temp.name, "app.py"), "w") as f:
            f.write(textwrap.dedent(source))
        sys.path.insert(0, temp.name)
        self.addCleanup(sys.path.remove, temp.name)
        sys.modules.pop("app", None)
        self.addCleanup(sys.modules.pop, "app", None)
        import importlib
        importlib.invalidate_caches()
        fake.configure(module="app", **config)
        krait_runtime.boot()
        fake.call = call   # boot() may have reset it

    def handle(self):
        fake.set_request("GET", "/", [], b"")
        krait_runtime.handle()
        return fake.response

    def test_spin_and_wsgi(self):
        spin = """
            from spin_sdk import http, llm
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    return http.Response(200, {}, llm.infer("chat", "busy").text.encode())
            """
        wsgi = """
            from spin_sdk import llm
            def app(environ, start_response):
                llm.infer("chat", "busy")
            """
        for source, config in ((spin, {"style": "spin"}), (wsgi, {"style": "wsgi", "wsgi": "app:app"})):
            self.boot(source, **config)
            status, headers, body = self.handle()
            self.assertEqual(status, 503, config)
            self.assertIn(("retry-after", "1"), headers)
            self.assertIn(b"busy", body)
        self.boot(spin.replace('"busy"', '"boom"'), style="spin")
        self.assertEqual(self.handle()[0], 500)


if __name__ == "__main__":
    unittest.main()
