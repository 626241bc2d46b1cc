# tests/llm/gguf_writer.py -- a GGUF v3 writer of krait's own (metadata of
# every type, tensor infos, 32-byte alignment) and numpy quantizers and
# dequantizers for ggml's F16, Q8_0, Q4_0, Q4_K and Q6_K block layouts.
# Does not own the models written (make_models.py) nor reading (gguf_reader.py).
#
# The quantizers follow ggml-quants.c's reference ones (quantize_row_*_ref):
# round to nearest with per-block scales. For Q4_K and Q6_K the scale of a
# sub-block is chosen simply (its range; its largest magnitude) instead of
# make_qkx2_quants' search: the bytes are valid ggml blocks all the same, and
# the dequantizers below read any valid block exactly as ggml does.
import struct

import numpy as np

# GGUF metadata value types (gguf.h).
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)

# ggml tensor types (ggml.h) this writer knows.
T_F32, T_F16, T_Q4_0, T_Q8_0, T_Q4_K, T_Q6_K = 0, 1, 2, 8, 12, 14
TYPE_NAMES = {T_F32: "F32", T_F16: "F16", T_Q4_0: "Q4_0", T_Q8_0: "Q8_0",
              T_Q4_K: "Q4_K", T_Q6_K: "Q6_K"}
TYPE_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}
# (elements per block, bytes per block)
TYPE_BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_Q4_0: (32, 18),
              T_Q8_0: (32, 34), T_Q4_K: (256, 144), T_Q6_K: (256, 210)}

ALIGNMENT = 32
QK_K = 256

_SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I",
               I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q",
               F64: "<d"}
_NP_DTYPE = {U8: "<u1", I8: "<i1", U16: "<u2", I16: "<i2", U32: "<u4",
             I32: "<i4", F32: "<f4", BOOL: "<u1", U64: "<u8", I64: "<i8",
             F64: "<f8"}


def tensor_nbytes(ggml_type, ne):
    """Bytes of a tensor of ggml_type with dims ne (ne[0] the row)."""
    blk, size = TYPE_BLOCK[ggml_type]
    if ne[0] % blk:
        raise ValueError("row of %d elements is not a multiple of %s's block "
                         "of %d" % (ne[0], TYPE_NAMES[ggml_type], blk))
    n = 1
    for d in ne:
        n *= d
    return n // blk * size


def _pad(n, a=ALIGNMENT):
    return (n + a - 1) // a * a


def _gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == STR:
        return _gstr(v)
    if vtype == ARR:
        etype, items = v
        out = [struct.pack("<IQ", etype, len(items))]
        if etype == STR:
            out.extend(_gstr(s) for s in items)
        elif etype == ARR:
            raise ValueError("arrays of arrays are not written")
        else:
            out.append(np.asarray(items, dtype=_NP_DTYPE[etype]).tobytes())
        return b"".join(out)
    return struct.pack(_SCALAR_FMT[vtype], v)


class GGUFWriter:
    """Collects metadata and tensor descriptions, then writes the file in
    one pass: each tensor's bytes are asked of its producer only when they
    are written, so a large model is never held in memory at once."""

    def __init__(self, path):
        self.path = path
        self.kv = []          # (key, type, value)
        self.tensors = []     # (name, ne, type, producer)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def add_str(self, key, v):
        self.add(key, STR, v)

    def add_u32(self, key, v):
        self.add(key, U32, int(v))

    def add_i32(self, key, v):
        self.add(key, I32, int(v))

    def add_f32(self, key, v):
        self.add(key, F32, float(v))

    def add_bool(self, key, v):
        self.add(key, BOOL, bool(v))

    def add_array(self, key, etype, items):
        self.add(key, ARR, (etype, list(items) if etype == STR else items))

    def add_tensor(self, name, ne, ggml_type, producer):
        """ne: dims with the row first (ggml order); producer(): the bytes
        (tensor_nbytes long), called once while writing."""
        self.tensors.append((name, list(ne), ggml_type, producer))

    def write(self):
        offsets, off = [], 0
        for name, ne, t, _ in self.tensors:
            offsets.append(off)
            off += _pad(tensor_nbytes(t, ne))
        with open(self.path, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors),
                                          len(self.kv)))
            for key, vtype, value in self.kv:
                f.write(_gstr(key) + struct.pack("<I", vtype) +
                        _value(vtype, value))
            for (name, ne, t, _), o in zip(self.tensors, offsets):
                f.write(_gstr(name) + struct.pack("<I", len(ne)) +
                        struct.pack("<%dQ" % len(ne), *ne) +
                        struct.pack("<IQ", t, o))
            f.write(b"\0" * (_pad(f.tell()) - f.tell()))
            for (name, ne, t, producer), o in zip(self.tensors, offsets):
                data = producer()
                want = tensor_nbytes(t, ne)
                if len(data) != want:
                    raise ValueError("tensor %s: %d bytes, expected %d"
                                     % (name, len(data), want))
                f.write(data)
                f.write(b"\0" * (_pad(want) - want))


# ---- rounding as ggml does -------------------------------------------------

def _roundf(x):
    """C roundf: halves away from zero (x float32; exact in float64)."""
    x = x.astype(np.float64)
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _nearest_int(x):
    """ggml's nearest_int: round half to even in float32."""
    return np.rint(x.astype(np.float32)).astype(np.int64)


def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


# ---- quantizers: float32 array (rows, n) -> bytes ---------------------------

def quantize(x, ggml_type):
    """The bytes of x (any shape whose last axis is the row) as ggml_type."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if ggml_type == T_F32:
        return x.tobytes()
    if ggml_type == T_F16:
        return x.astype(np.float16).tobytes()
    blk = TYPE_BLOCK[ggml_type][0]
    b = x.reshape(-1, blk)
    return {T_Q8_0: _q8_0, T_Q4_0: _q4_0, T_Q4_K: _q4_k,
            T_Q6_K: _q6_k}[ggml_type](b)


def _q8_0(b):
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    qs = _roundf(b * idv[:, None]).astype(np.int8)
    out = np.empty((len(b), 34), np.uint8)
    out[:, 0:2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = qs.view(np.uint8)
    return out.tobytes()


def _q4_0(b):
    idx = np.abs(b).argmax(axis=1)
    mx = b[np.arange(len(b)), idx]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (b * idv[:, None] + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int64)).astype(np.uint8)
    out = np.empty((len(b), 18), np.uint8)
    out[:, 0:2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def _q4_k(b):
    nb = len(b)
    xs = b.reshape(nb, 8, 32)
    mn = np.minimum(xs.min(axis=2), 0).astype(np.float32)
    mx = xs.max(axis=2)
    scales = ((mx - mn) / np.float32(15)).astype(np.float32)
    mins = (-mn).astype(np.float32)
    max_scale = scales.max(axis=1)
    max_min = mins.max(axis=1)
    with np.errstate(divide="ignore"):
        inv_s = np.where(max_scale > 0, np.float32(63) / max_scale, 0).astype(np.float32)
        inv_m = np.where(max_min > 0, np.float32(63) / max_min, 0).astype(np.float32)
    ls = np.minimum(63, _nearest_int(inv_s[:, None] * scales)).astype(np.uint8)
    lm = np.minimum(63, _nearest_int(inv_m[:, None] * mins)).astype(np.uint8)
    sc = np.zeros((nb, 12), np.uint8)
    sc[:, 0:4] = ls[:, 0:4]
    sc[:, 4:8] = lm[:, 0:4]
    sc[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    sc[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    sc[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    d = _f16((max_scale / np.float32(63)).astype(np.float32))
    dmin = _f16((max_min / np.float32(63)).astype(np.float32))
    dj = (d.astype(np.float32)[:, None] * ls).astype(np.float32)
    dmj = (dmin.astype(np.float32)[:, None] * lm).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = ((xs + dmj[:, :, None]) / dj[:, :, None]).astype(np.float32)
        lv = np.where(dj[:, :, None] != 0, lv, 0)
    L = np.clip(_nearest_int(lv), 0, 15).astype(np.uint8).reshape(nb, 4, 2, 32)
    qs = (L[:, :, 0, :] | (L[:, :, 1, :] << 4)).reshape(nb, 128)
    out = np.empty((nb, 144), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = dmin.view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = sc
    out[:, 16:] = qs
    return out.tobytes()


def _q6_k(b):
    nb = len(b)
    xs = b.reshape(nb, 16, 16)
    idx = np.abs(xs).argmax(axis=2)
    mx = np.take_along_axis(xs, idx[:, :, None], axis=2)[:, :, 0]
    scales = np.where(np.abs(mx) < 1e-15, 0, mx / np.float32(-32)).astype(np.float32)
    j = np.abs(scales).argmax(axis=1)
    max_scale = scales[np.arange(nb), j]
    zero = np.abs(max_scale) < 1e-15
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(zero, 0, np.float32(-128) / max_scale).astype(np.float32)
        d = _f16(np.where(zero, 0, np.float32(1) / iscale).astype(np.float32))
    sc = np.minimum(127, _nearest_int(iscale[:, None] * scales)).astype(np.int8)
    dj = (d.astype(np.float32)[:, None] * sc).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.where(dj[:, :, None] != 0, xs / dj[:, :, None], 0).astype(np.float32)
    L = (np.clip(_nearest_int(lv), -32, 31) + 32).astype(np.uint8).reshape(nb, 2, 4, 32)
    lo = L & 0xF
    hi = L >> 4
    ql = np.empty((nb, 2, 64), np.uint8)
    ql[:, :, 0:32] = lo[:, :, 0] | (lo[:, :, 2] << 4)
    ql[:, :, 32:64] = lo[:, :, 1] | (lo[:, :, 3] << 4)
    qh = hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6)
    out = np.empty((nb, 210), np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d.view(np.uint8).reshape(-1, 2)
    return out.tobytes()


# ---- dequantizers: bytes -> float32 (n elements) ----------------------------

def dequantize(data, ggml_type, n):
    """n float32 values from the bytes of a ggml_type tensor (as ggml's
    dequantize_row_* computes them)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if ggml_type == T_F32:
        return raw.view(np.float32)[:n].copy()
    if ggml_type == T_F16:
        return raw.view(np.float16)[:n].astype(np.float32)
    blk, size = TYPE_BLOCK[ggml_type]
    b = raw[: n // blk * size].reshape(-1, size)
    fn = {T_Q8_0: _dq8_0, T_Q4_0: _dq4_0, T_Q4_K: _dq4_k, T_Q6_K: _dq6_k}
    return fn[ggml_type](b).reshape(-1)


def _h(b, at):
    return b[:, at:at + 2].copy().view(np.float16).astype(np.float32)[:, 0]


def _dq8_0(b):
    d = _h(b, 0)
    return (d[:, None] * b[:, 2:].view(np.int8).astype(np.float32)).astype(np.float32)


def _dq4_0(b):
    d = _h(b, 0)
    qs = b[:, 2:]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int32) - 8
    return (d[:, None] * q.astype(np.float32)).astype(np.float32)


def _k4_scales(sc):
    """get_scale_min_k4 for j = 0..7: (scales, mins), each (nb, 8)."""
    s = np.empty((len(sc), 8), np.uint8)
    m = np.empty((len(sc), 8), np.uint8)
    s[:, 0:4] = sc[:, 0:4] & 63
    m[:, 0:4] = sc[:, 4:8] & 63
    s[:, 4:8] = (sc[:, 8:12] & 0xF) | ((sc[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (sc[:, 8:12] >> 4) | ((sc[:, 4:8] >> 6) << 4)
    return s, m


def _dq4_k(b):
    nb = len(b)
    d = _h(b, 0)
    dmin = _h(b, 2)
    s, m = _k4_scales(b[:, 4:16])
    d1 = (d[:, None] * s).astype(np.float32)
    m1 = (dmin[:, None] * m).astype(np.float32)
    qs = b[:, 16:].reshape(nb, 4, 32)
    q = np.stack([qs & 0xF, qs >> 4], axis=2).reshape(nb, 8, 32).astype(np.float32)
    return (d1[:, :, None] * q - m1[:, :, None]).astype(np.float32).reshape(nb, 256)


def _dq6_k(b):
    nb = len(b)
    ql = b[:, 0:128].reshape(nb, 2, 64)
    qh = b[:, 128:192].reshape(nb, 2, 32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(nb, 2, 8)
    d = _h(b, 208)
    q1 = (ql[:, :, 0:32] & 0xF) | (((qh >> 0) & 3) << 4)
    q2 = (ql[:, :, 32:64] & 0xF) | (((qh >> 2) & 3) << 4)
    q3 = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
    q4 = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    q = np.stack([q1, q2, q3, q4], axis=2).astype(np.int32) - 32  # nb,2,4,32
    # y[l + 32k] uses sc[is + 2k] with is = l / 16
    l16 = np.arange(32) // 16
    scl = sc[:, :, (np.arange(4)[:, None] * 2 + l16[None, :])]  # nb,2,4,32
    y = (d[:, None, None, None] * scl).astype(np.float32) * q.astype(np.float32)
    return y.astype(np.float32).reshape(nb, 256)


def roundtrip(x, ggml_type):
    """x quantized to ggml_type and back (float32, x's shape)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return dequantize(quantize(x, ggml_type), ggml_type, x.size).reshape(x.shape)
