/*
** python/c/krait_abi.h -- the ABI between python.wasm and its host under
** `krait serve` (and krait.js in the browser): the imports of module
** "krait", their encodings and error codes, and python.wasm's entry points.
** Shared by the guest (python/c/_kraitmodule.c) and the host (src/serve/).
*/
#ifndef KRAIT_ABI_H
#define KRAIT_ABI_H

#include <stdint.h>

/* Entry points python.wasm exports besides _start (the `python` CLI):
**   krait_init()   -> i32  once, before the snapshot: starts CPython with
**                          the WASI argv/environ and runs
**                          krait_runtime.boot() (imports the app, finds its
**                          handler). 0 on success, 1 after printing the
**                          Python error to stderr.
**   krait_handle() -> i32  once per request, in an instance started from
**                          the snapshot: runs krait_runtime.handle(), which
**                          reads the request and responds through the
**                          imports below. 0, or 1 after printing an error
**                          (the host then answers 500 if nothing was sent).
**   krait_handle_direct    (an exported i32 global) the address of a u32
**                          holding the index, in the exported table
**                          __indirect_function_table, of krait_handle
**                          without wasm-ld's command wrapper, which would
**                          re-run the C constructors (preopens, environ)
**                          in every request. Hosts call it when present.
*/
#define KRAIT_ABI_VERSION 3

/* Every import returns a non-negative result or one of these. */
enum {
  KRAIT_E_NOTFOUND = -1,    /* no such key / variable */
  KRAIT_E_INVAL = -2,       /* malformed arguments or encoding */
  KRAIT_E_DENIED = -3,      /* store not granted to this app */
  KRAIT_E_TOOBIG = -4,      /* key, value or response over its limit */
  KRAIT_E_BACKEND = -5,     /* the store failed (message: error_message) */
  KRAIT_E_STATE = -6,       /* wrong moment (e.g. a second respond) */
  KRAIT_E_TIMEOUT = -7,     /* the request's deadline passed during the call */
  KRAIT_E_NET = -8,         /* a network failure; the message starts with
                               the errno's name and ": " (ECONNREFUSED: ...) */
  KRAIT_E_TLS = -9,         /* a TLS handshake failed; "certificate verify
                               failed: ..." when the chain or name did not */
  KRAIT_E_NOSYS = -38       /* not serving (the CLI's stubs) */
};

/* Most bytes one call result may have. */
#define KRAIT_CALL_MAX_RESULT (16u << 20)

/* Encodings. All integers are little-endian u32. A "string" is its
** length then its bytes (no NUL).
**   request:  method, uri, u32 nheaders, nheaders x (name, value), body
**             (header names lower-case, in arrival order)
**   response: u32 status, u32 nheaders, nheaders x (name, value), body
**   key list: u32 nkeys, nkeys x key, u32 has_next, [next cursor]
** A call that fills a guest buffer returns the full length it needs; when
** that exceeds the buffer's capacity nothing useful was written and the
** guest calls again with a large enough buffer. */

/* The imports (module "krait"); python/c/_kraitmodule.c declares them:
**   request(buf, cap) -> len          the current request, encoded
**   respond(resp, len) -> 0           the response, encoded; once
**   respond_start(resp, len) -> 0     instead of respond: the head and the
**                                     first part of a streamed body, which
**                                     goes out chunked (HTTP/1.1)
**   send(buf, len) -> 0               the next part of a streamed body;
**                                     the body ends when krait_handle
**                                     returns (returning 1 truncates it)
**   kv_open(name, len) -> handle      a granted store (E_DENIED if not)
**   kv_get(h, key, klen, buf, cap) -> len | E_NOTFOUND
**   kv_set(h, key, klen, val, vlen) -> 0
**   kv_delete(h, key, klen) -> 0
**   kv_exists(h, key, klen) -> 0 | 1
**   kv_keys(h, prefix, plen, cursor, clen, limit, buf, cap) -> len
**                                     a key list; clen 0: from the start
**   log(level, msg, len) -> 0         level 10 (debug) .. 40 (error)
**   variable(name, len, buf, cap) -> len | E_NOTFOUND
**   config(buf, cap) -> len           the app's handler settings, JSON
**   boot_info(json, len) -> 0         at the end of krait_init only: what
**                                     the app imported from each
**                                     site-packages dir, for krait build's
**                                     bundle: {"site_packages": [[top-level
**                                     name, ...] per dir, in order]}
**   error_message(buf, cap) -> len    why the last call failed
**   js_call(op, len) -> len           in the browser (krait.js): runs one
**                                     JSON operation on the page's
**                                     JavaScript and keeps its JSON result
**                                     (len bytes); E_NOSYS elsewhere
**   js_result(buf, cap) -> len        copies the kept result
**   call(name, nlen, req, rlen) -> len
**                                     runs one operation of a host
**                                     binding, named "binding.op" (e.g.
**                                     "sqlite.execute"), on the request
**                                     payload req and keeps its result
**                                     (len bytes); E_NOTFOUND for an
**                                     unknown operation, E_DENIED naming
**                                     the manifest key that would grant it
**   call_result(buf, cap) -> len      copies the kept result (len is its
**                                     full length, as for every fill)
** The operations of call (src/app/bindings.c on the host) and their
** payloads; a value is u8 tag then 0 NULL | 1 INTEGER i64 | 2 REAL f64 |
** 3 TEXT string | 4 BLOB string (i64 and f64 little-endian):
**   sqlite.open     req: the database's name (bytes)   result: u32 handle
**   sqlite.execute  req: u32 handle, string sql, u32 nparams, nparams x
**                   value (bound, never interpolated)
**                   result: u32 ncolumns, ncolumns x string, u32 nrows,
**                   nrows x ncolumns x value, i64 changes, i64
**                   last_insert_rowid (one statement)
**   sqlite.exec     req: u32 handle, sql (the rest: statements separated
**                   by ';', no parameters)  result: u32 statements run
**   sqlite.close    req: u32 handle                    result: empty
** Connections last until the request ends. A result over 16 MiB
** (KRAIT_CALL_MAX_RESULT) fails with E_TOOBIG; a query still running at
** the request's deadline fails with E_TIMEOUT.
** Outbound TCP (src/app/netops.c; HTTP is the guest's, TLS the host's):
**   net.connect   req: string host (a name or an address, IPv6 without
**                 brackets), u32 port, u32 timeout_ms (0: the request's
**                 deadline only). The host checks allowed_outbound_hosts
**                 (entries of scheme http, https, tcp or *), resolves the
**                 name itself and connects only to the checked addresses.
**                 result: u32 handle, string peer address, u32 peer port
**   net.tls       req: u32 handle, string server_hostname, u32 flags (bit
**                 0 verify the chain, bit 1 check the hostname), string
**                 alpn (comma-separated, may be empty), u32 timeout_ms;
**                 once, before any send/recv.
**                 result: string version, string cipher, u32 secret bits,
**                 string alpn selected, string peer certificate DER,
**                 string subject commonName, u32 nsan, nsan x (string
**                 type "DNS" | "IP Address", string value), string
**                 notBefore, string notAfter ("Jun  1 00:00:00 2026 GMT")
**   net.send      req: u32 handle, u32 timeout_ms, bytes (the rest)
**                 result: u32 bytes sent (all)
**   net.recv      req: u32 handle, u32 max (1 .. 1 MiB), u32 timeout_ms
**                 result: the bytes (empty: the peer closed)
**   net.poll      req: u32 handle, u32 timeout_ms (0: just look)
**                 result: u32 1 when recv would not block, else 0
**   net.shutdown  req: u32 handle, u32 how (0 read, 1 write, 2 both)
**   net.close     req: u32 handle (closing twice: E_INVAL)
** Errors: E_DENIED (the allow-list; the message names the key or
** --allow-net), E_TIMEOUT, E_TOOBIG (a per-request limit: the message
** names it and its manifest key), E_INVAL (payload, handle), E_NET,
** E_TLS. A request's connections close when it ends.
** Pointers are guest addresses; every length is in bytes. */

#endif
