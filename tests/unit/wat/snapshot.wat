;; tests/unit/wat/snapshot.wat -- state for test_snapshot.c: "init" changes
;; memory, a mutable global, a table slot and drops a passive segment;
;; "poke" and the getters let a test see and change an instance's state.
(module
  (memory (export "memory") 2 100)
  (global $count (export "count") (mut i32) (i32.const 0))
  (table $t 4 funcref)
  (elem (i32.const 0) $one)
  (data $passive "xyz")
  (data (i32.const 16) "seed")
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (elem declare func $two)
  (func (export "init")
    (i32.store (i32.const 1024) (i32.const 0x12345678))
    (i32.store (i32.const 70000) (i32.const 77))   ;; second page
    (global.set $count (i32.const 41))
    (table.set $t (i32.const 1) (ref.func $two))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 131072) (i32.const 99)) ;; the grown page
    (data.drop $passive))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "call") (param i32) (result i32)
    (call_indirect (result i32) (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "reinit") (memory.init $passive (i32.const 0) (i32.const 0) (i32.const 3))))
