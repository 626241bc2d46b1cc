;; tests/limits/grow.wat -- memory.grow against --max-memory.
;; Starts with 1 page and no declared maximum. Grows by 15 pages (must
;; work: 1 MiB total), then by 1 more. Exits 0 when that second grow returns
;; -1 and the size stays 16 pages (run with --max-memory 1048576); exits 2
;; when it succeeds (no cap); 1 when the first grow fails; 3 on a bad size.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.ne (memory.grow (i32.const 15)) (i32.const 1))
      (then (call $exit (i32.const 1))))
    (i32.store (i32.const 1048572) (i32.const 0x11223344))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1))
      (then (call $exit (i32.const 2))))
    (if (i32.ne (memory.size) (i32.const 16))
      (then (call $exit (i32.const 3))))
    (if (i32.ne (i32.load (i32.const 1048572)) (i32.const 0x11223344))
      (then (call $exit (i32.const 3))))
    (call $exit (i32.const 0))))
