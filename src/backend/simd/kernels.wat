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
        (br $examples))))

  ;; Bilinear resampling with precomputed taps (dream/transforms.ts), over pixels of k
  ;; float32s each (k a multiple of 4: a batch's channels side by side, so that one tap's
  ;; index and weight serve them all). index and weight are four planes of n entries, tap t
  ;; of output pixel i at t * n + i; index counts source pixels.
  ;;   sample_gather:  out[i] = sum over t of weight[t][i] * src[index[t][i]]
  (func (export "sample_gather")
    (param $out i32) (param $src i32) (param $index i32) (param $weight i32) (param $n i32) (param $k i32)
    (local $i i32) (local $j i32) (local $row i32) (local $plane i32) (local $o i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local.set $row (i32.shl (local.get $k) (i32.const 2)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $o (local.get $out))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $taps (local.get $index) (local.get $i) (local.get $plane) (local.get $src) (local.get $row))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (local.set $w0 (v128.load32_splat (i32.add (local.get $weight) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $w1 (v128.load32_splat (i32.add (local.get $weight) (i32.add (local.get $plane) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $w2 (v128.load32_splat (i32.add (local.get $weight) (i32.add (i32.shl (local.get $plane) (i32.const 1)) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $w3 (v128.load32_splat (i32.add (local.get $weight) (i32.add (i32.mul (local.get $plane) (i32.const 3)) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $j (i32.const 0))
        (block $row_done
          (loop $lanes
            (br_if $row_done (i32.ge_u (local.get $j) (local.get $row)))
            (v128.store
              (i32.add (local.get $o) (local.get $j))
              (f32x4.add
                (f32x4.add
                  (f32x4.mul (local.get $w0) (v128.load (i32.add (local.get $s0) (local.get $j))))
                  (f32x4.mul (local.get $w1) (v128.load (i32.add (local.get $s1) (local.get $j)))))
                (f32x4.add
                  (f32x4.mul (local.get $w2) (v128.load (i32.add (local.get $s2) (local.get $j))))
                  (f32x4.mul (local.get $w3) (v128.load (i32.add (local.get $s3) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $lanes)))
        (local.set $o (i32.add (local.get $o) (local.get $row)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pixels))))

  ;;   sample_scatter: dsrc = 0 over p pixels, then dsrc[index[t][i]] += weight[t][i] * dy[i],
  ;;   the exact adjoint of sample_gather.
  (func (export "sample_scatter")
    (param $dsrc i32) (param $dy i32) (param $index i32) (param $weight i32) (param $n i32) (param $k i32) (param $p i32)
    (local $i i32) (local $j i32) (local $row i32) (local $plane i32) (local $o i32) (local $g v128)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local.set $row (i32.shl (local.get $k) (i32.const 2)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (memory.fill (local.get $dsrc) (i32.const 0) (i32.mul (local.get $p) (local.get $row)))
    (local.set $o (local.get $dy))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $taps (local.get $index) (local.get $i) (local.get $plane) (local.get $dsrc) (local.get $row))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (local.set $w0 (v128.load32_splat (i32.add (local.get $weight) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $w1 (v128.load32_splat (i32.add (local.get $weight) (i32.add (local.get $plane) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $w2 (v128.load32_splat (i32.add (local.get $weight) (i32.add (i32.shl (local.get $plane) (i32.const 1)) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $w3 (v128.load32_splat (i32.add (local.get $weight) (i32.add (i32.mul (local.get $plane) (i32.const 3)) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $j (i32.const 0))
        (block $row_done
          (loop $lanes
            (br_if $row_done (i32.ge_u (local.get $j) (local.get $row)))
            (local.set $g (v128.load (i32.add (local.get $o) (local.get $j))))
            ;; One tap after another: two taps may be the same source pixel (the grey one).
            (call $accumulate (i32.add (local.get $s0) (local.get $j)) (local.get $w0) (local.get $g))
            (call $accumulate (i32.add (local.get $s1) (local.get $j)) (local.get $w1) (local.get $g))
            (call $accumulate (i32.add (local.get $s2) (local.get $j)) (local.get $w2) (local.get $g))
            (call $accumulate (i32.add (local.get $s3) (local.get $j)) (local.get $w3) (local.get $g))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $lanes)))
        (local.set $o (i32.add (local.get $o) (local.get $row)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pixels))))

  (func $accumulate (param $at i32) (param $w v128) (param $g v128)
    (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $w) (local.get $g)))))

  ;; The byte addresses of output pixel i's four source pixels in `base`.
  (func $taps (param $index i32) (param $i i32) (param $plane i32) (param $base i32) (param $row i32)
    (result i32 i32 i32 i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $index) (i32.shl (local.get $i) (i32.const 2))))
    (i32.add (local.get $base) (i32.mul (i32.load (local.get $at)) (local.get $row)))
    (i32.add (local.get $base) (i32.mul (i32.load (i32.add (local.get $at) (local.get $plane))) (local.get $row)))
    (i32.add (local.get $base) (i32.mul (i32.load (i32.add (local.get $at) (i32.shl (local.get $plane) (i32.const 1)))) (local.get $row)))
    (i32.add (local.get $base) (i32.mul (i32.load (i32.add (local.get $at) (i32.mul (local.get $plane) (i32.const 3)))) (local.get $row)))))
