# tests/llm/gguf_reader.py -- reads a GGUF v2/v3 file for the numpy
# reference: metadata (every value type) and tensors, dequantized to float32
# on request through gguf_writer's dequantizers. Does not own writing.
import struct

import numpy as np

import gguf_writer as gw


class GGUFError(Exception):
    pass


class _Cur:
    def __init__(self, buf):
        self.buf, self.off = buf, 0

    def take(self, n):
        if self.off + n > len(self.buf):
            raise GGUFError("truncated at offset 0x%x (wanted %d bytes)"
                            % (self.off, n))
        b = self.buf[self.off:self.off + n]
        self.off += n
        return b

    def un(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def gstr(self):
        return bytes(self.take(self.un("<Q"))).decode("utf-8", "surrogateescape")


def _read_value(c, vtype):
    if vtype == gw.STR:
        return c.gstr()
    if vtype == gw.ARR:
        etype, n = c.un("<I"), c.un("<Q")
        if etype == gw.STR:
            return [c.gstr() for _ in range(n)]
        if etype == gw.ARR:
            return [_read_value(c, gw.ARR) for _ in range(n)]
        dt = np.dtype(gw._NP_DTYPE[etype])
        return np.frombuffer(bytes(c.take(n * dt.itemsize)), dtype=dt).copy()
    if vtype not in gw._SCALAR_FMT:
        raise GGUFError("unknown metadata type %d" % vtype)
    return c.un(gw._SCALAR_FMT[vtype])


class Tensor:
    def __init__(self, gguf, name, ne, ggml_type, offset):
        self.gguf, self.name, self.ne, self.type = gguf, name, ne, ggml_type
        self.offset = offset

    @property
    def nbytes(self):
        return gw.tensor_nbytes(self.type, self.ne)

    def raw(self):
        start = self.gguf.data_start + self.offset
        return self.gguf.buf[start:start + self.nbytes]

    def f32(self):
        """The tensor as float32, shaped (ne[-1], ..., ne[0])."""
        n = int(np.prod(self.ne))
        return gw.dequantize(self.raw(), self.type, n).reshape(self.ne[::-1])


class GGUF:
    def __init__(self, path):
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        c = _Cur(memoryview(self.buf))
        if bytes(c.take(4)) != b"GGUF":
            raise GGUFError("%s: not a GGUF file" % path)
        self.version = c.un("<I")
        n_tensors, n_kv = c.un("<Q"), c.un("<Q")
        self.kv, self.kv_type = {}, {}
        for _ in range(n_kv):
            key = c.gstr()
            vtype = c.un("<I")
            self.kv[key] = _read_value(c, vtype)
            self.kv_type[key] = vtype
        align = int(self.kv.get("general.alignment", gw.ALIGNMENT))
        self.tensors = {}
        for _ in range(n_tensors):
            name = c.gstr()
            nd = c.un("<I")
            ne = [c.un("<Q") for _ in range(nd)]
            t, off = c.un("<I"), c.un("<Q")
            if t not in gw.TYPE_BLOCK:
                raise GGUFError("tensor %s: unknown type %d" % (name, t))
            self.tensors[name] = Tensor(self, name, ne, t, off)
        self.data_start = (c.off + align - 1) // align * align

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def f32(self, name):
        return self.tensors[name].f32()
