;; tests/limits/bulk.wat -- an endless loop of 64 MiB memory.fill, for
;; --timeout: a bulk op counts as one fuel unit, so the deadline check
;; must also count the bytes bulk ops move (ki_bulk_late).
(module
  (memory (export "memory") 1024)
  (func (export "_start") (local i32)
    (loop $l
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (memory.fill (i32.const 0) (local.get 0) (i32.const 67108864))
      (br $l))))
