;; tests/host/wat/app_faults.wat -- a stand-in for python.wasm that speaks
;; the "krait" ABI (python/c/krait_abi.h) in a few calls, so
;; test_app_faults.c can boot an app and serve a request once per failing
;; allocation. krait_init reads its config, a variable and its app file
;; through WASI, logs and leaves boot info; krait_handle reads the request
;; and answers 200 "ok". Either returns nonzero when a call failed.
(module
  (import "krait" "config" (func $config (param i32 i32) (result i32)))
  (import "krait" "variable" (func $variable (param i32 i32 i32 i32) (result i32)))
  (import "krait" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "krait" "boot_info" (func $boot_info (param i32 i32) (result i32)))
  (import "krait" "request" (func $request (param i32 i32) (result i32)))
  (import "krait" "respond" (func $respond (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 2)
  ;; "greeting" @1024, "app.py" @1040, "booted" @1056, "{}" @1072
  (data (i32.const 1024) "greeting")
  (data (i32.const 1040) "app.py")
  (data (i32.const 1056) "booted")
  (data (i32.const 1072) "{}")
  ;; the read iovec {8192, 256} @16
  (data (i32.const 16) "\00\20\00\00\00\01\00\00")
  ;; the response @2048 (44 bytes): 200, one header, body "ok"
  (data (i32.const 2048) "\c8\00\00\00\01\00\00\00"
        "\0c\00\00\00content-type\0a\00\00\00text/plain\02\00\00\00ok")
  (func (export "krait_init") (result i32)
    (block $fail
      (br_if $fail (i32.lt_s (call $config (i32.const 4096) (i32.const 1024)) (i32.const 0)))
      (br_if $fail (i32.lt_s (call $variable (i32.const 1024) (i32.const 8)
                                (i32.const 5120) (i32.const 256)) (i32.const 0)))
      ;; /app is the fourth preopen (stdlib, bin, SDK, app): fd 6
      (br_if $fail (call $path_open (i32.const 6) (i32.const 1) (i32.const 1040) (i32.const 6)
                     (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32)))
      (br_if $fail (call $fd_read (i32.load (i32.const 32)) (i32.const 16) (i32.const 1) (i32.const 36)))
      (br_if $fail (call $fd_close (i32.load (i32.const 32))))
      (br_if $fail (call $log (i32.const 1) (i32.const 1056) (i32.const 6)))
      (br_if $fail (call $boot_info (i32.const 1072) (i32.const 2)))
      (return (i32.const 0)))
    (i32.const 1))
  (func (export "krait_handle") (result i32)
    (local $n i32)
    (local.set $n (call $request (i32.const 12288) (i32.const 4096)))
    (if (i32.or (i32.lt_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 4096)))
      (then (return (i32.const 1))))
    (i32.ne (call $respond (i32.const 2048) (i32.const 44)) (i32.const 0))))
