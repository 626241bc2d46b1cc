;; tests/aot/fuel.wat -- the fuel battery's module (test_battery.c): work
;; that charges fuel on every path the AOT tier counts differently from a
;; plain loop: direct and indirect calls, recursion, a loop with one
;; back-edge, a dispatch loop with several (br_table), and Wasm -> host ->
;; Wasm re-entry three deep; plus traps after some work (a guard-page or
;; explicit out-of-bounds load, unreachable, deep recursion).
(module
  (type $ii (func (param i32) (result i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (memory 1 1)
  (table 2 funcref)
  (elem (i32.const 0) $sq $fib)
  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $fib (type $ii)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; one back-edge; calls through the table (sq for even i, fib for odd)
  (func $loop1 (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s)
          (call_indirect (type $ii) (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $s))
  ;; three back-edges to $top: an interpreter's dispatch loop
  (func $vm (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (block $c2
          (block $c1
            (block $c0
              (br_table $c0 $c1 $c2 (i32.rem_u (local.get $n) (i32.const 3))))
            (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
            (br $top))
          (local.set $acc (i32.mul (local.get $acc) (i32.const 3)))
          (br $top))
        (local.set $acc (i32.xor (local.get $acc) (local.get $n)))
        (br $top)))
    (local.get $acc))
  (func $payload (param $n i32) (result i32)
    (i32.add (i32.add (call $loop1 (local.get $n)) (call $vm (i32.mul (local.get $n) (i32.const 7))))
             (call $fib (local.get $n))))
  ;; host.reenter(n) calls this with n + 1
  (func (export "reenter_wasm") (param $n i32) (result i32)
    (if (result i32) (i32.ge_u (local.get $n) (i32.const 3))
      (then (call $payload (i32.const 9)))
      (else (i32.add (call $reenter (local.get $n)) (call $vm (i32.const 5))))))
  (func (export "work") (param $n i32) (result i32)
    (i32.add (call $payload (local.get $n)) (call $reenter (i32.const 0))))
  ;; some work, then a trap of kind k: 0 out of bounds, 1 unreachable,
  ;; 2 the call stack
  (func $down (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "trap") (param $k i32) (result i32)
    (drop (call $payload (i32.const 6)))
    (if (i32.eqz (local.get $k)) (then (return (i32.load (i32.const 70000)))))
    (if (i32.eq (local.get $k) (i32.const 1)) (then unreachable))
    (call $down (i32.const 0))))
