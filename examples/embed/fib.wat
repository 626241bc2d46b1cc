;; examples/embed/fib.wat -- the module examples/embed/embed.c runs in the
;; tests (mk/tests.mk builds it with wat2wasm): a loop, a float result and
;; a trap. Owns nothing else.
(module
  ;; The nth Fibonacci number, iteratively (fib 0 = 0, fib 1 = 1).
  (func (export "fib") (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $a))
  ;; The mean of two doubles.
  (func (export "mean") (param f64 f64) (result f64)
    (f64.div (f64.add (local.get 0) (local.get 1)) (f64.const 2)))
  ;; Integer division: traps on a zero divisor.
  (func (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
