;; tests/wasi-smoke/invoke.wat -- exports for `krait run --invoke` checks.
(module
  (global $g (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $g (i32.const 42)))
  (func (export "get") (result i32) (global.get $g))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "half") (param f64) (result f64)
    (f64.div (local.get 0) (f64.const 2)))
  (func (export "fneg") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "pair") (result i64 f32) (i64.const -7) (f32.const 0.25))
  (func (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
