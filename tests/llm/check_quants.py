# tests/llm/check_quants.py -- checks gguf_writer's quantizers and
# dequantizers against ggml itself: the libggml-base.so node-llama-cpp ships
# (ctypes; dequantize_row_* and quantize_row_*_ref). Prints "ok"/"FAIL"
# lines and "N passed, N failed". Does not own the writer.
#   /usr/bin/python3 tests/llm/check_quants.py tests/llm/node_modules
import ctypes
import glob
import sys

import numpy as np

import gguf_writer as gw


def main():
    nm = sys.argv[1] if len(sys.argv) > 1 else "node_modules"
    libs = glob.glob(nm + "/@node-llama-cpp/linux-x64/bins/*/libggml-base.so")
    if not libs:
        print("FAIL libggml-base.so not found under %s" % nm)
        print("0 passed, 1 failed")
        return 1
    lib = ctypes.CDLL(libs[0])
    rng = np.random.default_rng(7)
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok %s %s" % (name, detail))
        else:
            failed += 1
            print("FAIL %s %s" % (name, detail))

    P = ctypes.c_void_p
    n = 4096
    cases = [
        ("normal", (rng.standard_normal(n) * 0.05).astype(np.float32)),
        ("wide", (rng.standard_normal(n) * 3).astype(np.float32)),
        ("positive", np.abs(rng.standard_normal(n)).astype(np.float32)),
        ("zeros+spikes", np.where(rng.random(n) < 0.02,
                                  rng.standard_normal(n) * 10, 0).astype(np.float32)),
        ("all-zero", np.zeros(n, np.float32)),
    ]
    for tname, t in [("q8_0", gw.T_Q8_0), ("q4_0", gw.T_Q4_0),
                     ("q4_K", gw.T_Q4_K), ("q6_K", gw.T_Q6_K)]:
        deq = getattr(lib, "dequantize_row_" + tname)
        deq.argtypes = [P, P, ctypes.c_int64]
        for cname, x in cases:
            data = gw.quantize(x, t)
            mine = gw.dequantize(data, t, n)
            theirs = np.zeros(n, np.float32)
            buf = ctypes.create_string_buffer(data, len(data))
            deq(buf, theirs.ctypes.data, n)
            same = np.array_equal(mine.view(np.uint32), theirs.view(np.uint32))
            err = float(np.linalg.norm(x - mine) / max(np.linalg.norm(x), 1e-30))
            check("dequant-%s-%s" % (tname, cname), same,
                  "(ggml's dequantize_row_%s bit-identical; rel err %.4f)" % (tname, err))
            limit = {"q8_0": 0.01, "q4_0": 0.2, "q4_K": 0.2, "q6_K": 0.05}[tname]
            check("quality-%s-%s" % (tname, cname), err <= limit,
                  "(relative error %.4f <= %.2f)" % (err, limit))
        # Q8_0 and Q4_0: the same bytes as ggml's reference quantizer
        if t in (gw.T_Q8_0, gw.T_Q4_0):
            q = getattr(lib, "quantize_row_%s_ref" % tname)
            q.argtypes = [P, P, ctypes.c_int64]
            for cname, x in cases:
                size = gw.tensor_nbytes(t, [n])
                out = ctypes.create_string_buffer(size)
                q(x.ctypes.data, out, n)
                check("quant-%s-%s" % (tname, cname),
                      out.raw == gw.quantize(x, t),
                      "(bytes identical to quantize_row_%s_ref)" % tname)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
