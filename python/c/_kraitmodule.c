/*
** python/c/_kraitmodule.c -- built into python.wasm (Modules/Setup.local):
** the `_krait` module over the host imports of python/c/krait_abi.h, and
** the krait_init / krait_handle entry points that `krait serve` calls.
*/
#define PY_SSIZE_T_CLEAN
#include "Python.h"

#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "krait_abi.h"

#define KRAIT_IMPORT(name) \
  __attribute__((import_module("krait"), import_name(#name)))
KRAIT_IMPORT(request) int32_t krait_request(uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(respond) int32_t krait_respond(const uint8_t *resp, uint32_t len);
KRAIT_IMPORT(respond_start) int32_t krait_respond_start(const uint8_t *resp, uint32_t len);
KRAIT_IMPORT(send) int32_t krait_send(const uint8_t *buf, uint32_t len);
KRAIT_IMPORT(kv_open) int32_t krait_kv_open(const uint8_t *name, uint32_t len);
KRAIT_IMPORT(kv_get) int32_t krait_kv_get(int32_t h, const uint8_t *key, uint32_t klen,
                                          uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(kv_set) int32_t krait_kv_set(int32_t h, const uint8_t *key, uint32_t klen,
                                          const uint8_t *val, uint32_t vlen);
KRAIT_IMPORT(kv_delete) int32_t krait_kv_delete(int32_t h, const uint8_t *key, uint32_t klen);
KRAIT_IMPORT(kv_exists) int32_t krait_kv_exists(int32_t h, const uint8_t *key, uint32_t klen);
KRAIT_IMPORT(kv_keys) int32_t krait_kv_keys(int32_t h, const uint8_t *prefix, uint32_t plen,
                                            const uint8_t *cursor, uint32_t clen,
                                            uint32_t limit, uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(log) int32_t krait_log(int32_t level, const uint8_t *msg, uint32_t len);
KRAIT_IMPORT(variable) int32_t krait_variable(const uint8_t *name, uint32_t len,
                                              uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(config) int32_t krait_config(uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(boot_info) int32_t krait_boot_info(const uint8_t *json, uint32_t len);
KRAIT_IMPORT(js_call) int32_t krait_js_call(const uint8_t *op, uint32_t len);
KRAIT_IMPORT(js_result) int32_t krait_js_result(uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(call) int32_t krait_call(const uint8_t *name, uint32_t nlen, const uint8_t *req,
                                      uint32_t rlen);
KRAIT_IMPORT(call_result) int32_t krait_call_result(uint8_t *buf, uint32_t cap);
KRAIT_IMPORT(error_message) int32_t krait_error_message(uint8_t *buf, uint32_t cap);

static PyObject *KvError;  /* _krait.KvError */
static PyObject *CallError;  /* _krait.CallError(code, message) */

/* ---- raising errors --------------------------------------------------- */

/* Raises the Python exception for import result rc (negative) from call
** what, with the host's message when it has one. Returns NULL. */
static PyObject *kr_raise(int32_t rc, const char *what) {
  char msg[512];
  int32_t n = krait_error_message((uint8_t *)msg, sizeof msg - 1);
  msg[n > 0 && n < (int32_t)sizeof msg ? n : 0] = '\0';
  if (!msg[0]) snprintf(msg, sizeof msg, "%s failed (code %d)", what, (int)rc);
  switch (rc) {
  case KRAIT_E_DENIED: PyErr_SetString(PyExc_PermissionError, msg); break;
  case KRAIT_E_TOOBIG: case KRAIT_E_INVAL: PyErr_SetString(PyExc_ValueError, msg); break;
  case KRAIT_E_NOSYS:
    PyErr_Format(PyExc_RuntimeError, "_krait.%s: not running under krait serve", what);
    break;
  default: PyErr_SetString(KvError, msg); break;
  }
  return NULL;
}

/* ---- encodings (krait_abi.h) ------------------------------------------ */

/* A growable byte buffer for encoding. */
typedef struct kr_buf { uint8_t *p; size_t len, cap; } kr_buf;

/* Appends n bytes; false (MemoryError set) when out of memory. */
static int kr_put(kr_buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 256) + n;
    uint8_t *p = PyMem_Realloc(b->p, cap);
    if (!p) { PyErr_NoMemory(); return 0; }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 1;
}

static int kr_put_u32(kr_buf *b, uint32_t v) { return kr_put(b, &v, 4); }

/* Appends a string (length, then bytes). */
static int kr_put_str(kr_buf *b, const char *s, Py_ssize_t n) {
  return kr_put_u32(b, (uint32_t)n) && kr_put(b, s, (size_t)n);
}

/* A bounded reader over an encoded reply. */
typedef struct kr_rd { const uint8_t *p, *end; } kr_rd;

/* Reads a u32; false at the end of the data. */
static int kr_u32(kr_rd *r, uint32_t *v) {
  if (r->end - r->p < 4) return 0;
  memcpy(v, r->p, 4);
  r->p += 4;
  return 1;
}

/* Reads a string as a view; false when it overruns the data. */
static int kr_str(kr_rd *r, const uint8_t **s, uint32_t *n) {
  if (!kr_u32(r, n) || (uint32_t)(r->end - r->p) < *n) return 0;
  *s = r->p;
  r->p += *n;
  return 1;
}

/* Calls a buffer-filling import through fill until its result fits;
** returns the bytes (PyMem, caller frees) with *len, or NULL with an
** exception (or *len = -1 for KRAIT_E_NOTFOUND, without exception). */
typedef int32_t (*kr_fill_fn)(void *ctx, uint8_t *buf, uint32_t cap);
static uint8_t *kr_fetch(kr_fill_fn fill, void *ctx, const char *what, int32_t *len) {
  uint32_t cap = 4096;
  for (;;) {
    uint8_t *buf = PyMem_Malloc(cap);
    if (!buf) { PyErr_NoMemory(); return NULL; }
    int32_t n = fill(ctx, buf, cap);
    if (n >= 0 && (uint32_t)n <= cap) { *len = n; return buf; }
    PyMem_Free(buf);
    if (n == KRAIT_E_NOTFOUND) { *len = -1; return NULL; }
    if (n < 0) { kr_raise(n, what); return NULL; }
    cap = (uint32_t)n;
  }
}

/* ---- request / respond ------------------------------------------------ */

static int32_t kr_fill_request(void *ctx, uint8_t *buf, uint32_t cap) {
  return krait_request(buf, cap);
}

/* A str from UTF-8 bytes, with surrogateescape for invalid ones. */
static PyObject *kr_text(const uint8_t *s, uint32_t n) {
  return PyUnicode_DecodeUTF8((const char *)s, n, "surrogateescape");
}

/* The headers list [(name, value), ...] of an encoded request. */
static PyObject *kr_decode_headers(kr_rd *r) {
  uint32_t nh;
  if (!kr_u32(r, &nh)) return NULL;
  PyObject *list = PyList_New(0);
  for (uint32_t i = 0; list && i < nh; i++) {
    const uint8_t *k, *v;
    uint32_t kn, vn;
    if (!kr_str(r, &k, &kn) || !kr_str(r, &v, &vn)) { Py_CLEAR(list); break; }
    PyObject *pair = Py_BuildValue("(NN)", kr_text(k, kn), kr_text(v, vn));
    if (!pair || PyList_Append(list, pair) < 0) Py_CLEAR(list);
    Py_XDECREF(pair);
  }
  return list;
}

/* _krait.request() -> (method, uri, headers, body) */
static PyObject *kr_py_request(PyObject *self, PyObject *unused) {
  int32_t n;
  uint8_t *buf = kr_fetch(kr_fill_request, NULL, "request", &n);
  if (!buf) return n == -1 ? kr_raise(KRAIT_E_STATE, "request") : NULL;
  kr_rd r = { buf, buf + n };
  const uint8_t *m, *u, *b;
  uint32_t mn, un, bn;
  PyObject *headers = NULL, *res = NULL;
  if (kr_str(&r, &m, &mn) && kr_str(&r, &u, &un) && (headers = kr_decode_headers(&r)) &&
      kr_str(&r, &b, &bn))
    res = Py_BuildValue("(NNOy#)", kr_text(m, mn), kr_text(u, un), headers,
                        (const char *)b, (Py_ssize_t)bn);
  else if (!PyErr_Occurred())
    PyErr_SetString(PyExc_RuntimeError, "_krait.request: malformed request from the host");
  Py_XDECREF(headers);
  PyMem_Free(buf);
  return res;
}

/* Encodes one (name, value) header pair of str. */
static int kr_put_header(kr_buf *b, PyObject *pair) {
  PyObject *k, *v;
  Py_ssize_t kn, vn;
  if (!PyArg_ParseTuple(pair, "UU", &k, &v)) return 0;
  const char *ks = PyUnicode_AsUTF8AndSize(k, &kn), *vs = PyUnicode_AsUTF8AndSize(v, &vn);
  return ks && vs && kr_put_str(b, ks, kn) && kr_put_str(b, vs, vn);
}

/* _krait.respond(status, headers, body, more=False): with more, the body
** is the first part of a stream that _krait.send continues. */
static PyObject *kr_py_respond(PyObject *self, PyObject *args) {
  int status, more = 0;
  PyObject *headers;
  Py_buffer body;
  if (!PyArg_ParseTuple(args, "iOy*|p", &status, &headers, &body, &more)) return NULL;
  kr_buf b = { 0 };
  PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)");
  int ok = seq && kr_put_u32(&b, (uint32_t)status) &&
           kr_put_u32(&b, (uint32_t)PySequence_Fast_GET_SIZE(seq));
  for (Py_ssize_t i = 0; ok && i < PySequence_Fast_GET_SIZE(seq); i++)
    ok = kr_put_header(&b, PySequence_Fast_GET_ITEM(seq, i));
  ok = ok && kr_put_str(&b, body.buf, body.len);
  PyBuffer_Release(&body);
  Py_XDECREF(seq);
  int32_t rc = !ok ? 0 : more ? krait_respond_start(b.p, (uint32_t)b.len)
                              : krait_respond(b.p, (uint32_t)b.len);
  PyMem_Free(b.p);
  if (!ok) return NULL;
  if (rc < 0) return kr_raise(rc, "respond");
  Py_RETURN_NONE;
}

/* _krait.send(data): the next part of a streamed body. */
static PyObject *kr_py_send(PyObject *self, PyObject *args) {
  Py_buffer data;
  if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
  int32_t rc = krait_send(data.buf, (uint32_t)data.len);
  PyBuffer_Release(&data);
  if (rc < 0) return kr_raise(rc, "send");
  Py_RETURN_NONE;
}

/* ---- key-value ---------------------------------------------------------- */

/* _krait.kv_open(name) -> handle */
static PyObject *kr_py_kv_open(PyObject *self, PyObject *args) {
  const char *name;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "s#", &name, &n)) return NULL;
  int32_t h = krait_kv_open((const uint8_t *)name, (uint32_t)n);
  return h < 0 ? kr_raise(h, "kv_open") : PyLong_FromLong(h);
}

typedef struct kr_kv_get_ctx { int32_t h; Py_buffer *key; } kr_kv_get_ctx;

static int32_t kr_fill_kv_get(void *ctx, uint8_t *buf, uint32_t cap) {
  kr_kv_get_ctx *c = ctx;
  return krait_kv_get(c->h, c->key->buf, (uint32_t)c->key->len, buf, cap);
}

/* _krait.kv_get(h, key) -> bytes | None */
static PyObject *kr_py_kv_get(PyObject *self, PyObject *args) {
  kr_kv_get_ctx c;
  Py_buffer key;
  int32_t n;
  if (!PyArg_ParseTuple(args, "iy*", &c.h, &key)) return NULL;
  c.key = &key;
  uint8_t *buf = kr_fetch(kr_fill_kv_get, &c, "kv_get", &n);
  PyBuffer_Release(&key);
  if (!buf) {
    if (n == -1 && !PyErr_Occurred()) Py_RETURN_NONE;
    return NULL;
  }
  PyObject *res = PyBytes_FromStringAndSize((const char *)buf, n);
  PyMem_Free(buf);
  return res;
}

/* _krait.kv_set(h, key, value) */
static PyObject *kr_py_kv_set(PyObject *self, PyObject *args) {
  int32_t h;
  Py_buffer key, val;
  if (!PyArg_ParseTuple(args, "iy*y*", &h, &key, &val)) return NULL;
  int32_t rc = krait_kv_set(h, key.buf, (uint32_t)key.len, val.buf, (uint32_t)val.len);
  PyBuffer_Release(&key);
  PyBuffer_Release(&val);
  if (rc < 0) return kr_raise(rc, "kv_set");
  Py_RETURN_NONE;
}

/* _krait.kv_delete(h, key) and _krait.kv_exists(h, key) share a shape. */
static PyObject *kr_kv_keyop(PyObject *args, int exists) {
  int32_t h;
  Py_buffer key;
  if (!PyArg_ParseTuple(args, "iy*", &h, &key)) return NULL;
  int32_t rc = exists ? krait_kv_exists(h, key.buf, (uint32_t)key.len)
                      : krait_kv_delete(h, key.buf, (uint32_t)key.len);
  PyBuffer_Release(&key);
  if (rc < 0) return kr_raise(rc, exists ? "kv_exists" : "kv_delete");
  if (exists) return PyBool_FromLong(rc);
  Py_RETURN_NONE;
}

static PyObject *kr_py_kv_delete(PyObject *self, PyObject *args) { return kr_kv_keyop(args, 0); }
static PyObject *kr_py_kv_exists(PyObject *self, PyObject *args) { return kr_kv_keyop(args, 1); }

typedef struct kr_keys_ctx { int32_t h; Py_buffer *prefix; const char *cur; Py_ssize_t curn; int limit; } kr_keys_ctx;

static int32_t kr_fill_keys(void *ctx, uint8_t *buf, uint32_t cap) {
  kr_keys_ctx *c = ctx;
  return krait_kv_keys(c->h, c->prefix->buf, (uint32_t)c->prefix->len, (const uint8_t *)c->cur,
                       (uint32_t)c->curn, (uint32_t)c->limit, buf, cap);
}

/* Decodes a key list into (keys, next cursor or None). */
static PyObject *kr_decode_keys(const uint8_t *buf, int32_t n) {
  kr_rd r = { buf, buf + n };
  uint32_t nk, more;
  const uint8_t *s;
  uint32_t sn;
  if (!kr_u32(&r, &nk)) goto bad;
  PyObject *keys = PyList_New(0);
  for (uint32_t i = 0; keys && i < nk; i++) {
    PyObject *k;
    if (!kr_str(&r, &s, &sn)) { Py_DECREF(keys); goto bad; }
    k = PyBytes_FromStringAndSize((const char *)s, sn);
    if (!k || PyList_Append(keys, k) < 0) Py_CLEAR(keys);
    Py_XDECREF(k);
  }
  if (!keys) return NULL;
  if (!kr_u32(&r, &more) || (more && !kr_str(&r, &s, &sn))) { Py_DECREF(keys); goto bad; }
  if (!more) return Py_BuildValue("(NO)", keys, Py_None);
  return Py_BuildValue("(Ny#)", keys, (const char *)s, (Py_ssize_t)sn);
bad:
  PyErr_SetString(PyExc_RuntimeError, "_krait.kv_keys: malformed key list from the host");
  return NULL;
}

/* _krait.kv_keys(h, prefix, cursor, limit) -> ([keys], next cursor | None) */
static PyObject *kr_py_kv_keys(PyObject *self, PyObject *args) {
  kr_keys_ctx c = { 0 };
  Py_buffer prefix;
  int32_t n;
  if (!PyArg_ParseTuple(args, "iy*z#i", &c.h, &prefix, &c.cur, &c.curn, &c.limit)) return NULL;
  c.prefix = &prefix;
  uint8_t *buf = kr_fetch(kr_fill_keys, &c, "kv_keys", &n);
  PyBuffer_Release(&prefix);
  if (!buf) return NULL;
  PyObject *res = kr_decode_keys(buf, n);
  PyMem_Free(buf);
  return res;
}

/* ---- log, variables, config ---------------------------------------- */

/* _krait.log(level, message) */
static PyObject *kr_py_log(PyObject *self, PyObject *args) {
  int level;
  const char *msg;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "is#", &level, &msg, &n)) return NULL;
  krait_log(level, (const uint8_t *)msg, (uint32_t)n);
  Py_RETURN_NONE;
}

/* _krait.boot_info(json): what the boot imported, for krait build. */
static PyObject *kr_py_boot_info(PyObject *self, PyObject *args) {
  const char *json;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "s#", &json, &n)) return NULL;
  int32_t rc = krait_boot_info((const uint8_t *)json, (uint32_t)n);
  if (rc < 0 && rc != KRAIT_E_NOSYS) return kr_raise(rc, "boot_info");
  Py_RETURN_NONE;
}

static int32_t kr_fill_js(void *ctx, uint8_t *buf, uint32_t cap) {
  return krait_js_result(buf, cap);
}

/* _krait.js(op) -> str: one JSON operation on the page's JavaScript
** (krait.js in the browser; elsewhere KRAIT_E_NOSYS). */
static PyObject *kr_py_js(PyObject *self, PyObject *args) {
  const char *op;
  Py_ssize_t n;
  int32_t len;
  if (!PyArg_ParseTuple(args, "s#", &op, &n)) return NULL;
  int32_t rc = krait_js_call((const uint8_t *)op, (uint32_t)n);
  if (rc < 0) return kr_raise(rc, "js");
  uint8_t *buf = kr_fetch(kr_fill_js, NULL, "js", &len);
  if (!buf) return NULL;
  PyObject *res = PyUnicode_DecodeUTF8((const char *)buf, len, "replace");
  PyMem_Free(buf);
  return res;
}

/* _krait.call(name, payload) -> bytes: one operation of a host binding
** ("sqlite.execute"), its result fetched with call_result. A refusal
** raises PermissionError; other failures _krait.CallError(code, message),
** code being the KRAIT_E_* value, for the binding's SDK to map. */
static PyObject *kr_py_call(PyObject *self, PyObject *args) {
  const char *name;
  Py_ssize_t nlen;
  Py_buffer req;
  if (!PyArg_ParseTuple(args, "s#y*", &name, &nlen, &req)) return NULL;
  int32_t n = krait_call((const uint8_t *)name, (uint32_t)nlen, req.buf, (uint32_t)req.len);
  PyBuffer_Release(&req);
  if (n == KRAIT_E_DENIED || n == KRAIT_E_NOSYS) return kr_raise(n, "call");
  if (n < 0) {
    char msg[512];
    int32_t m = krait_error_message((uint8_t *)msg, sizeof msg - 1);
    msg[m > 0 && m < (int32_t)sizeof msg ? m : 0] = '\0';
    PyObject *e = Py_BuildValue("(is)", (int)n, msg[0] ? msg : "host call failed");
    if (e) PyErr_SetObject(CallError, e);
    Py_XDECREF(e);
    return NULL;
  }
  PyObject *res = PyBytes_FromStringAndSize(NULL, n);
  if (!res) return NULL;
  int32_t got = krait_call_result((uint8_t *)PyBytes_AS_STRING(res), (uint32_t)n);
  if (got != n) {
    Py_DECREF(res);
    return kr_raise(got < 0 ? got : KRAIT_E_STATE, "call_result");
  }
  return res;
}

typedef struct kr_var_ctx { const char *name; Py_ssize_t n; } kr_var_ctx;

static int32_t kr_fill_variable(void *ctx, uint8_t *buf, uint32_t cap) {
  kr_var_ctx *c = ctx;
  return krait_variable((const uint8_t *)c->name, (uint32_t)c->n, buf, cap);
}

/* _krait.variable(name) -> str | None */
static PyObject *kr_py_variable(PyObject *self, PyObject *args) {
  kr_var_ctx c;
  int32_t n;
  if (!PyArg_ParseTuple(args, "s#", &c.name, &c.n)) return NULL;
  uint8_t *buf = kr_fetch(kr_fill_variable, &c, "variable", &n);
  if (!buf) {
    if (n == -1 && !PyErr_Occurred()) Py_RETURN_NONE;
    return NULL;
  }
  PyObject *res = kr_text(buf, (uint32_t)n);
  PyMem_Free(buf);
  return res;
}

static int32_t kr_fill_config(void *ctx, uint8_t *buf, uint32_t cap) {
  return krait_config(buf, cap);
}

/* _krait.config() -> dict (the host's JSON, parsed with the json module) */
static PyObject *kr_py_config(PyObject *self, PyObject *unused) {
  int32_t n;
  uint8_t *buf = kr_fetch(kr_fill_config, NULL, "config", &n);
  if (!buf) return n == -1 ? kr_raise(KRAIT_E_NOSYS, "config") : NULL;
  PyObject *text = PyUnicode_DecodeUTF8((const char *)buf, n, "strict");
  PyMem_Free(buf);
  if (!text) return NULL;
  PyObject *json = PyImport_ImportModule("json");
  PyObject *res = json ? PyObject_CallMethod(json, "loads", "O", text) : NULL;
  Py_XDECREF(json);
  Py_DECREF(text);
  return res;
}

static PyMethodDef kr_methods[] = {
  {"request", kr_py_request, METH_NOARGS, "request() -> (method, uri, headers, body)"},
  {"respond", kr_py_respond, METH_VARARGS, "respond(status, headers, body, more=False)"},
  {"send", kr_py_send, METH_VARARGS, "send(data): the next part of a streamed body"},
  {"kv_open", kr_py_kv_open, METH_VARARGS, "kv_open(name) -> handle"},
  {"kv_get", kr_py_kv_get, METH_VARARGS, "kv_get(h, key) -> bytes | None"},
  {"kv_set", kr_py_kv_set, METH_VARARGS, "kv_set(h, key, value)"},
  {"kv_delete", kr_py_kv_delete, METH_VARARGS, "kv_delete(h, key)"},
  {"kv_exists", kr_py_kv_exists, METH_VARARGS, "kv_exists(h, key) -> bool"},
  {"kv_keys", kr_py_kv_keys, METH_VARARGS, "kv_keys(h, prefix, cursor, limit) -> (keys, next)"},
  {"log", kr_py_log, METH_VARARGS, "log(level, message)"},
  {"boot_info", kr_py_boot_info, METH_VARARGS, "boot_info(json): what the boot imported"},
  {"js", kr_py_js, METH_VARARGS, "js(op_json) -> result_json: the page's JavaScript (browser)"},
  {"call", kr_py_call, METH_VARARGS, "call(name, payload) -> bytes: one operation of a host binding"},
  {"variable", kr_py_variable, METH_VARARGS, "variable(name) -> str | None"},
  {"config", kr_py_config, METH_NOARGS, "config() -> dict"},
  {NULL, NULL, 0, NULL}
};

static struct PyModuleDef kr_module = {
  PyModuleDef_HEAD_INIT, "_krait",
  "The host interface of krait serve (python/c/krait_abi.h).", -1, kr_methods,
  NULL, NULL, NULL, NULL
};

/* The error codes of krait_abi.h as _krait.E_NOTFOUND ... (the codes
** CallError carries). 0, or -1 with an exception set. */
static int kr_add_codes(PyObject *m) {
  static const struct { const char *name; int code; } codes[] = {
    { "E_NOTFOUND", KRAIT_E_NOTFOUND }, { "E_INVAL", KRAIT_E_INVAL }, { "E_DENIED", KRAIT_E_DENIED },
    { "E_TOOBIG", KRAIT_E_TOOBIG }, { "E_BACKEND", KRAIT_E_BACKEND }, { "E_STATE", KRAIT_E_STATE },
    { "E_TIMEOUT", KRAIT_E_TIMEOUT }, { "E_NET", KRAIT_E_NET }, { "E_TLS", KRAIT_E_TLS },
    { "E_NOSYS", KRAIT_E_NOSYS },
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (PyModule_AddIntConstant(m, codes[i].name, codes[i].code) < 0) return -1;
  return 0;
}

/* Creates the module, its KvError and CallError exceptions and the error
** codes. */
PyMODINIT_FUNC PyInit__krait(void) {
  PyObject *m = PyModule_Create(&kr_module);
  if (!m) return NULL;
  KvError = PyErr_NewException("_krait.KvError", NULL, NULL);
  if (!KvError || PyModule_AddObjectRef(m, "KvError", KvError) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  CallError = PyErr_NewException("_krait.CallError", NULL, NULL);
  if (!CallError || PyModule_AddObjectRef(m, "CallError", CallError) < 0 || kr_add_codes(m) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}

/* ---- entry points ------------------------------------------------------ */

/* Constructors: wasm-ld wraps every export of a command (_start and these
** two) so that it runs the constructors first (wasi-libc's preopens and
** environ, krait_cwd.c) and flushes stdio after. Referring to
** __wasm_call_ctors here would make wasm-ld drop those wrappers, and with
** them the constructors of _start. */

/* krait_runtime.handle, looked up once by krait_init. */
static PyObject *kr_handle_fn;

/* Reads WASI's argv into config (CPython parses it as the command line). */
static PyStatus kr_set_argv(PyConfig *config) {
  __wasi_size_t argc = 0, size = 0;
  if (__wasi_args_sizes_get(&argc, &size) != 0 || argc == 0)
    return PyConfig_SetBytesArgv(config, 0, NULL);
  char **argv = calloc(argc + 1, sizeof *argv), *buf = malloc(size);
  if (!argv || !buf || __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0) {
    free(argv);
    free(buf);
    return PyStatus_NoMemory();
  }
  PyStatus st = PyConfig_SetBytesArgv(config, (Py_ssize_t)argc, argv);
  free(argv);
  free(buf);
  return st;
}

/* Starts CPython from WASI argv/environ (as `python` would, but without
** running a program) and runs krait_runtime.boot(). */
__attribute__((export_name("krait_init"))) int32_t krait_init(void) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  PyStatus st = kr_set_argv(&config);
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st)) {
    fprintf(stderr, "krait_init: %s\n", st.err_msg ? st.err_msg : "cannot start Python");
    return 1;
  }
  PyObject *rt = PyImport_ImportModule("krait_runtime");
  PyObject *res = rt ? PyObject_CallMethod(rt, "boot", NULL) : NULL;
  kr_handle_fn = rt ? PyObject_GetAttrString(rt, "handle") : NULL;
  Py_XDECREF(res);
  Py_XDECREF(rt);
  if (!res || !kr_handle_fn) {
    PyErr_Print();
    return 1;
  }
  return 0;
}

/* Handles one request: krait_runtime.handle(), which returns False when
** a streamed body broke after its head went out (then 1: truncate it). */
int32_t krait_handle_body(void);

int32_t krait_handle_body(void) {
  if (!kr_handle_fn) {
    fprintf(stderr, "krait_handle: krait_init did not succeed\n");
    return 1;
  }
  PyObject *res = PyObject_CallNoArgs(kr_handle_fn);
  if (!res) {
    PyErr_Print();
    return 1;
  }
  int broken = res == Py_False;
  Py_DECREF(res);
  return broken;
}

/* The export, which wasm-ld wraps in the constructors (they would run
** again, for every request) and destructors. */
__attribute__((export_name("krait_handle"))) int32_t krait_handle(void) { return krait_handle_body(); }

/* The same without the wrapper: python/c/krait_direct.c's
** krait_handle_direct holds krait_handle_body's table index. */
