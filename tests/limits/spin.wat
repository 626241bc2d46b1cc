;; tests/limits/spin.wat -- an infinite loop in _start, for --timeout and
;; --fuel.
(module
  (memory (export "memory") 1)
  (func (export "_start") (local i32)
    (loop $l
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br $l))))
