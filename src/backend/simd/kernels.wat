;; cnnviz's own SIMD kernels. They run on tensors in place in tfjs-backend-wasm's heap: the
;; module imports that backend's memory, and every pointer is a byte offset into it.
;; Build: `npm run build:simd` (scripts/build-simd.js) turns this into kernels-wasm.ts.
(module
  (import "env" "memory" (memory 0))

  ;; out[i] = dy[i] where lo < y[i] < hi, else +0, over byte offsets [i, end). A bitwise and
  ;; with the comparison mask, so a NaN or infinite dy outside the band becomes 0. Returns 1
  ;; if any out[i] is non-zero.
  (func $band
    (param $out i32) (param $dy i32) (param $y i32) (param $i i32) (param $end i32) (param $lo f32) (param $hi f32)
    (result i32)
    (local $vend i32) (local $vlo v128) (local $vhi v128) (local $v v128) (local $r v128) (local $any v128)
    (local $s f32) (local $g f32)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    ;; Four lanes at a time while four remain.
    (local.set $vend (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $i)) (i32.const 15))))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $vend)))
        (local.set $v (v128.load (i32.add (local.get $y) (local.get $i))))
        (local.set $r
          (v128.and
            (v128.load (i32.add (local.get $dy) (local.get $i)))
            (v128.and (f32x4.gt (local.get $v) (local.get $vlo)) (f32x4.lt (local.get $v) (local.get $vhi)))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $r))
        (local.set $any (v128.or (local.get $any) (f32x4.ne (local.get $r) (v128.const f32x4 0 0 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $simd)))
    (local.set $any (i32x4.splat (v128.any_true (local.get $any))))
    ;; The rest one by one.
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $y) (local.get $i))))
        (local.set $g
          (select
            (f32.load (i32.add (local.get $dy) (local.get $i)))
            (f32.const 0)
            (i32.and (f32.gt (local.get $s) (local.get $lo)) (f32.lt (local.get $s) (local.get $hi)))))
        (f32.store (i32.add (local.get $out) (local.get $i)) (local.get $g))
        (if (f32.ne (local.get $g) (f32.const 0)) (then (local.set $any (i32x4.splat (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    (v128.any_true (local.get $any)))

  ;; out[i] = dy[i], except 0 where it would push a unit further past a bound: y <= lo with
  ;; dy > 0 (descent lowers it), or y >= hi with dy < 0. Lucid's redirected ReLU gradient.
  (func $unblocked
    (param $out i32) (param $dy i32) (param $y i32) (param $i i32) (param $end i32) (param $lo f32) (param $hi f32)
    (local $vend i32) (local $vlo v128) (local $vhi v128) (local $v v128) (local $d v128) (local $s f32) (local $g f32)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $vend (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $i)) (i32.const 15))))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $vend)))
        (local.set $v (v128.load (i32.add (local.get $y) (local.get $i))))
        (local.set $d (v128.load (i32.add (local.get $dy) (local.get $i))))
        (v128.store
          (i32.add (local.get $out) (local.get $i))
          (v128.andnot
            (local.get $d)
            (v128.or
              (v128.and (f32x4.le (local.get $v) (local.get $vlo)) (f32x4.gt (local.get $d) (v128.const f32x4 0 0 0 0)))
              (v128.and (f32x4.ge (local.get $v) (local.get $vhi)) (f32x4.lt (local.get $d) (v128.const f32x4 0 0 0 0))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $y) (local.get $i))))
        (local.set $g (f32.load (i32.add (local.get $dy) (local.get $i))))
        (f32.store
          (i32.add (local.get $out) (local.get $i))
          (select
            (f32.const 0)
            (local.get $g)
            (i32.or
              (i32.and (f32.le (local.get $s) (local.get $lo)) (f32.gt (local.get $g) (f32.const 0)))
              (i32.and (f32.ge (local.get $s) (local.get $hi)) (f32.lt (local.get $g) (f32.const 0))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; out = dy where lo < y < hi, else 0, for n float32s: the gradient of a clamping activation
  ;; (relu, relu6) read off its output, in one pass instead of four or five.
  (func (export "band_pass")
    (param $out i32) (param $dy i32) (param $y i32) (param $n i32) (param $lo f32) (param $hi f32)
    (drop (call $band (local.get $out) (local.get $dy) (local.get $y)
      (i32.const 0) (i32.shl (local.get $n) (i32.const 2)) (local.get $lo) (local.get $hi))))

  ;; The redirected gradient over `batch` examples of `per` float32s each: an example whose
  ;; band-pass gradient is all zero gets the unblocked one instead.
  (func (export "redirect_pass")
    (param $out i32) (param $dy i32) (param $y i32) (param $batch i32) (param $per i32) (param $lo f32) (param $hi f32)
    (local $start i32) (local $bytes i32) (local $e i32)
    (local.set $bytes (i32.shl (local.get $per) (i32.const 2)))
    (block $done
      (loop $examples
        (br_if $done (i32.ge_u (local.get $e) (local.get $batch)))
        (if (i32.eqz (call $band (local.get $out) (local.get $dy) (local.get $y)
              (local.get $start) (i32.add (local.get $start) (local.get $bytes)) (local.get $lo) (local.get $hi)))
          (then (call $unblocked (local.get $out) (local.get $dy) (local.get $y)
              (local.get $start) (i32.add (local.get $start) (local.get $bytes)) (local.get $lo) (local.get $hi))))
        (local.set $start (i32.add (local.get $start) (local.get $bytes)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $examples)))))
