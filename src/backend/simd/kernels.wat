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

;; The gradient of an activation read off its output y, for n float32s (activation-pass.ts):
  ;;   kind 0, leaky relu: dy where y > 0, else dy * alpha (x = 0 gives y = 0: alpha, as tfjs);
  ;;   kind 1, elu: dy where y >= 0, else dy * (y + 1) (tfjs's EluGrad);
  ;;   kind 2, sigmoid: dy * (y * (1 - y)) (tfjs's sigmoid gradient, same order of products).
  (func (export "activation_grad")
    (param $out i32) (param $dy i32) (param $y i32) (param $n i32) (param $kind i32) (param $alpha f32)
    (local $i i32) (local $end i32) (local $vend i32) (local $va v128) (local $v v128) (local $d v128)
    (local $s f32) (local $g f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vend (i32.and (local.get $end) (i32.const -16)))
    (local.set $va (f32x4.splat (local.get $alpha)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $vend)))
        (local.set $v (v128.load (i32.add (local.get $y) (local.get $i))))
        (local.set $d (v128.load (i32.add (local.get $dy) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (if (result v128) (i32.eqz (local.get $kind))
            (then (v128.bitselect (local.get $d) (f32x4.mul (local.get $d) (local.get $va))
              (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0))))
            (else (if (result v128) (i32.eq (local.get $kind) (i32.const 1))
              (then (v128.bitselect (local.get $d)
                (f32x4.mul (local.get $d) (f32x4.add (local.get $v) (v128.const f32x4 1 1 1 1)))
                (f32x4.ge (local.get $v) (v128.const f32x4 0 0 0 0))))
              (else (f32x4.mul (local.get $d)
                (f32x4.mul (local.get $v) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $v)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $y) (local.get $i))))
        (local.set $g (f32.load (i32.add (local.get $dy) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (if (result f32) (i32.eqz (local.get $kind))
            (then (select (local.get $g) (f32.mul (local.get $g) (local.get $alpha)) (f32.gt (local.get $s) (f32.const 0))))
            (else (if (result f32) (i32.eq (local.get $kind) (i32.const 1))
              (then (select (local.get $g) (f32.mul (local.get $g) (f32.add (local.get $s) (f32.const 1))) (f32.ge (local.get $s) (f32.const 0))))
              (else (f32.mul (local.get $g) (f32.mul (local.get $s) (f32.sub (f32.const 1) (local.get $s)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; The gradient of a 2-D max pool (MaxPoolGrad) over NHWC float32s, as tfjs's cpu backend
  ;; routes it: each window's dy goes to the first strict maximum in scan order (rows, then
  ;; columns) among the window's taps inside the input (padding is never a candidate; a window
  ;; of NaN or -Infinity only gets none), summed where windows overlap. Four channels at a
  ;; time: the running maximum and the byte offset of its tap per lane, then dy added to each
  ;; tap under an equality mask. dx [batch, h, w, c], dy [batch, ho, wo, c], x like dx.
  (func (export "max_pool_grad")
    (param $dx i32) (param $dy i32) (param $x i32) (param $batch i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $pix i32) (local $image i32) (local $b i32) (local $oy i32) (local $ox i32)
    (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32) (local $r i32) (local $q i32)
    (local $ch i32) (local $off i32) (local $xb i32) (local $dxb i32) (local $dyp i32) (local $at i32)
    (local $maxv v128) (local $idx v128) (local $v v128) (local $m v128) (local $d v128)
    (local $maxs f32) (local $idxs i32) (local $s f32)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $image (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $pix)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $batch) (local.get $image)))
    (local.set $dyp (local.get $dy))
    (block $b_done (loop $b_loop
      (br_if $b_done (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $xb (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $image))))
      (local.set $dxb (i32.add (local.get $dx) (i32.mul (local.get $b) (local.get $image))))
      (local.set $oy (i32.const 0))
      (block $oy_done (loop $oy_loop
        (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $ho)))
        (local.set $r0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $fh)))
        (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
        (if (i32.gt_s (local.get $r1) (local.get $h)) (then (local.set $r1 (local.get $h))))
        (local.set $ox (i32.const 0))
        (block $ox_done (loop $ox_loop
          (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $wo)))
          (local.set $c0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $left)))
          (local.set $c1 (i32.add (local.get $c0) (local.get $fw)))
          (if (i32.lt_s (local.get $c0) (i32.const 0)) (then (local.set $c0 (i32.const 0))))
          (if (i32.gt_s (local.get $c1) (local.get $w)) (then (local.set $c1 (local.get $w))))
          (local.set $ch (i32.const 0))
          ;; Four channels at a time.
          (block $v_done (loop $v_loop
            (br_if $v_done (i32.gt_s (i32.add (local.get $ch) (i32.const 16)) (local.get $pix)))
            (local.set $maxv (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $idx (v128.const i32x4 -1 -1 -1 -1))
            (local.set $r (local.get $r0))
            (block $r_done (loop $r_loop
              (br_if $r_done (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $q (local.get $c0))
              (block $q_done (loop $q_loop
                (br_if $q_done (i32.ge_s (local.get $q) (local.get $c1)))
                (local.set $off (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $pix)) (local.get $ch)))
                (local.set $v (v128.load (i32.add (local.get $xb) (local.get $off))))
                (local.set $m (f32x4.gt (local.get $v) (local.get $maxv)))
                (local.set $maxv (v128.bitselect (local.get $v) (local.get $maxv) (local.get $m)))
                (local.set $idx (v128.bitselect (i32x4.splat (local.get $off)) (local.get $idx) (local.get $m)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $q_loop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $r_loop)))
            (local.set $d (v128.load (i32.add (local.get $dyp) (local.get $ch))))
            (local.set $r (local.get $r0))
            (block $r2_done (loop $r2_loop
              (br_if $r2_done (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $q (local.get $c0))
              (block $q2_done (loop $q2_loop
                (br_if $q2_done (i32.ge_s (local.get $q) (local.get $c1)))
                (local.set $off (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $pix)) (local.get $ch)))
                (local.set $at (i32.add (local.get $dxb) (local.get $off)))
                (v128.store (local.get $at)
                  (f32x4.add (v128.load (local.get $at))
                    (v128.and (local.get $d) (i32x4.eq (local.get $idx) (i32x4.splat (local.get $off))))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $q2_loop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $r2_loop)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
            (br $v_loop)))
          ;; The last c mod 4 channels one by one.
          (block $s_done (loop $s_loop
            (br_if $s_done (i32.ge_s (local.get $ch) (local.get $pix)))
            (local.set $maxs (f32.const -inf))
            (local.set $idxs (i32.const -1))
            (local.set $r (local.get $r0))
            (block $r3_done (loop $r3_loop
              (br_if $r3_done (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $q (local.get $c0))
              (block $q3_done (loop $q3_loop
                (br_if $q3_done (i32.ge_s (local.get $q) (local.get $c1)))
                (local.set $off (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $pix)) (local.get $ch)))
                (local.set $s (f32.load (i32.add (local.get $xb) (local.get $off))))
                (if (f32.gt (local.get $s) (local.get $maxs))
                  (then (local.set $maxs (local.get $s)) (local.set $idxs (local.get $off))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $q3_loop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $r3_loop)))
            (if (i32.ge_s (local.get $idxs) (i32.const 0))
              (then
                (local.set $at (i32.add (local.get $dxb) (local.get $idxs)))
                (f32.store (local.get $at)
                  (f32.add (f32.load (local.get $at)) (f32.load (i32.add (local.get $dyp) (local.get $ch)))))))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $s_loop)))
          (local.set $dyp (i32.add (local.get $dyp) (local.get $pix)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $ox_loop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $oy_loop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $b_loop))))

  ;; The gradient of a 2-D average pool (AvgPoolGrad) over NHWC float32s, as tfjs's cpu
  ;; backend computes it: every tap of a window inside the input gets dy / (fh fw), padding
  ;; counted in the divisor (`mult`), summed where windows overlap. dx [batch, h, w, c],
  ;; dy [batch, ho, wo, c].
  (func (export "avg_pool_grad")
    (param $dx i32) (param $dy i32) (param $batch i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32) (param $mult f32)
    (local $pix i32) (local $image i32) (local $b i32) (local $oy i32) (local $ox i32)
    (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32) (local $r i32) (local $q i32)
    (local $ch i32) (local $at i32) (local $dxb i32) (local $dyp i32) (local $vm v128) (local $d v128) (local $s f32)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $image (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $pix)))
    (local.set $vm (f32x4.splat (local.get $mult)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $batch) (local.get $image)))
    (local.set $dyp (local.get $dy))
    (block $b_done (loop $b_loop
      (br_if $b_done (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $dxb (i32.add (local.get $dx) (i32.mul (local.get $b) (local.get $image))))
      (local.set $oy (i32.const 0))
      (block $oy_done (loop $oy_loop
        (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $ho)))
        (local.set $r0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $fh)))
        (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
        (if (i32.gt_s (local.get $r1) (local.get $h)) (then (local.set $r1 (local.get $h))))
        (local.set $ox (i32.const 0))
        (block $ox_done (loop $ox_loop
          (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $wo)))
          (local.set $c0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $left)))
          (local.set $c1 (i32.add (local.get $c0) (local.get $fw)))
          (if (i32.lt_s (local.get $c0) (i32.const 0)) (then (local.set $c0 (i32.const 0))))
          (if (i32.gt_s (local.get $c1) (local.get $w)) (then (local.set $c1 (local.get $w))))
          (local.set $r (local.get $r0))
          (block $r_done (loop $r_loop
            (br_if $r_done (i32.ge_s (local.get $r) (local.get $r1)))
            (local.set $q (local.get $c0))
            (block $q_done (loop $q_loop
              (br_if $q_done (i32.ge_s (local.get $q) (local.get $c1)))
              (local.set $at (i32.add (local.get $dxb) (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $pix))))
              (local.set $ch (i32.const 0))
              (block $v_done (loop $v_loop
                (br_if $v_done (i32.gt_s (i32.add (local.get $ch) (i32.const 16)) (local.get $pix)))
                (local.set $d (f32x4.mul (v128.load (i32.add (local.get $dyp) (local.get $ch))) (local.get $vm)))
                (v128.store (i32.add (local.get $at) (local.get $ch))
                  (f32x4.add (v128.load (i32.add (local.get $at) (local.get $ch))) (local.get $d)))
                (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
                (br $v_loop)))
              (block $s_done (loop $s_loop
                (br_if $s_done (i32.ge_s (local.get $ch) (local.get $pix)))
                (local.set $s (f32.mul (f32.load (i32.add (local.get $dyp) (local.get $ch))) (local.get $mult)))
                (f32.store (i32.add (local.get $at) (local.get $ch))
                  (f32.add (f32.load (i32.add (local.get $at) (local.get $ch))) (local.get $s)))
                (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
                (br $s_loop)))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br $q_loop)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $r_loop)))
          (local.set $dyp (i32.add (local.get $dyp) (local.get $pix)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $ox_loop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $oy_loop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $b_loop))))

  ;; A transpose that swaps two axes with contiguous blocks of d 4-byte values on either side:
  ;; out[ia][ic][ib][:] = x[ia][ib][ic][:], x of shape [a, b, c, d]. Every transpose whose
  ;; permutation, once runs of adjacent axes are merged, swaps two neighbours is one of these.
  (func (export "swap_middle")
    (param $out i32) (param $x i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32)
    (local $ia i32) (local $ib i32) (local $ic i32) (local $row i32) (local $stride i32)
    (local $xa i32) (local $src i32) (local $o i32) (local $j i32) (local $vend i32)
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (local.set $stride (i32.mul (local.get $c) (local.get $row)))
    (local.set $vend (i32.and (local.get $row) (i32.const -16)))
    (local.set $o (local.get $out))
    (local.set $xa (local.get $x))
    (block $a_done
      (loop $outer
        (br_if $a_done (i32.ge_u (local.get $ia) (local.get $a)))
        (local.set $ic (i32.const 0))
        (block $c_done
          (loop $columns
            (br_if $c_done (i32.ge_u (local.get $ic) (local.get $c)))
            (local.set $src (i32.add (local.get $xa) (i32.mul (local.get $ic) (local.get $row))))
            (local.set $ib (i32.const 0))
            (block $b_done
              (loop $rows
                (br_if $b_done (i32.ge_u (local.get $ib) (local.get $b)))
                (local.set $j (i32.const 0))
                (block $v_done
                  (loop $vectors
                    (br_if $v_done (i32.ge_u (local.get $j) (local.get $vend)))
                    (v128.store (i32.add (local.get $o) (local.get $j)) (v128.load (i32.add (local.get $src) (local.get $j))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $vectors)))
                (block $s_done
                  (loop $scalars
                    (br_if $s_done (i32.ge_u (local.get $j) (local.get $row)))
                    (i32.store (i32.add (local.get $o) (local.get $j)) (i32.load (i32.add (local.get $src) (local.get $j))))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $scalars)))
                (local.set $o (i32.add (local.get $o) (local.get $row)))
                (local.set $src (i32.add (local.get $src) (local.get $stride)))
                (local.set $ib (i32.add (local.get $ib) (i32.const 1)))
                (br $rows)))
            (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
            (br $columns)))
        (local.set $xa (i32.add (local.get $xa) (i32.mul (local.get $b) (local.get $stride))))
        (local.set $ia (i32.add (local.get $ia) (i32.const 1)))
        (br $outer))))

  ;; Bilinear resampling with precomputed taps (backend/bilinear-sample.ts) over a batch of
  ;; pictures of p pixels of c float32s each (NHWC, a picture after another), which all share
  ;; the taps. index is four planes of n source-pixel indices, tap t of output pixel i at
  ;; t * n + i; weight is five planes, the four taps' and the fill value's. Scalar: with c = 3
  ;; there are no four lanes to fill, and the layout saves the transposes a lane-friendly one
  ;; would need around the call.
  ;;   sample_gather: out[b][i] = (sum over t of weight[t][i] * src[b][index[t][i]] + fill * weight[4][i]) * scale + offset,
  ;;   for output pixels first..n-1. The scale and offset map [0, 1] pictures into the model's
  ;;   input range, rounded as a separate multiply and add would round them.
  (func (export "sample_gather")
    (param $out i32) (param $src i32) (param $index i32) (param $weight i32)
    (param $n i32) (param $p i32) (param $batch i32) (param $c i32) (param $fill f32) (param $scale f32) (param $offset f32) (param $first i32)
    (local $i i32) (local $b i32) (local $j i32) (local $pixel i32) (local $plane i32) (local $o i32) (local $base i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $w0 f32) (local $w1 f32) (local $w2 f32) (local $w3 f32) (local $g f32)
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $i (local.get $first))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $taps (local.get $index) (local.get $i) (local.get $plane) (local.get $pixel))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (call $weights (local.get $weight) (local.get $i) (local.get $plane))
        (local.set $g) (local.set $w3) (local.set $w2) (local.set $w1) (local.set $w0)
        (local.set $g (f32.mul (local.get $g) (local.get $fill)))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $pixel))))
        (local.set $base (local.get $src))
        (local.set $b (i32.const 0))
        (block $batch_done
          (loop $pictures
            (br_if $batch_done (i32.ge_u (local.get $b) (local.get $batch)))
            (local.set $j (i32.const 0))
            (block $pixel_done
              (loop $channels
                (br_if $pixel_done (i32.ge_u (local.get $j) (local.get $pixel)))
                (f32.store
                  (i32.add (local.get $o) (local.get $j))
                  (f32.add
                    (f32.mul
                      (f32.add
                        (f32.add
                          (f32.add
                            (f32.mul (local.get $w0) (f32.load (i32.add (local.get $base) (i32.add (local.get $s0) (local.get $j)))))
                            (f32.mul (local.get $w1) (f32.load (i32.add (local.get $base) (i32.add (local.get $s1) (local.get $j))))))
                          (f32.add
                            (f32.mul (local.get $w2) (f32.load (i32.add (local.get $base) (i32.add (local.get $s2) (local.get $j)))))
                            (f32.mul (local.get $w3) (f32.load (i32.add (local.get $base) (i32.add (local.get $s3) (local.get $j)))))))
                        (local.get $g))
                      (local.get $scale))
                    (local.get $offset)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $channels)))
            (local.set $o (i32.add (local.get $o) (i32.mul (local.get $plane) (local.get $c))))
            (local.set $base (i32.add (local.get $base) (i32.mul (local.get $p) (local.get $pixel))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $pictures)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pixels))))

  ;;   sample_scatter: dsrc = 0, then dsrc[b][index[t][i]] += weight[t][i] * (dy[b][i] * scale),
  ;;   the exact adjoint of sample_gather in src (the fill and the offset are constants).
  (func (export "sample_scatter")
    (param $dsrc i32) (param $dy i32) (param $index i32) (param $weight i32)
    (param $n i32) (param $p i32) (param $batch i32) (param $c i32) (param $scale f32)
    (local $at i32) (local $i i32) (local $b i32) (local $j i32) (local $pixel i32) (local $plane i32) (local $o i32) (local $base i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $w0 f32) (local $w1 f32) (local $w2 f32) (local $w3 f32) (local $g f32)
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (memory.fill (local.get $dsrc) (i32.const 0) (i32.mul (i32.mul (local.get $batch) (local.get $p)) (local.get $pixel)))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $taps (local.get $index) (local.get $i) (local.get $plane) (local.get $pixel))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (call $weights (local.get $weight) (local.get $i) (local.get $plane))
        (drop) (local.set $w3) (local.set $w2) (local.set $w1) (local.set $w0)
        (local.set $o (i32.add (local.get $dy) (i32.mul (local.get $i) (local.get $pixel))))
        (local.set $base (local.get $dsrc))
        (local.set $b (i32.const 0))
        (block $batch_done
          (loop $pictures
            (br_if $batch_done (i32.ge_u (local.get $b) (local.get $batch)))
            (local.set $j (i32.const 0))
            (block $pixel_done
              (loop $channels
                (br_if $pixel_done (i32.ge_u (local.get $j) (local.get $pixel)))
                (local.set $g (f32.mul (f32.load (i32.add (local.get $o) (local.get $j))) (local.get $scale)))
                ;; One tap after another: two taps may be the same source pixel.
                (local.set $at (i32.add (local.get $base) (i32.add (local.get $s0) (local.get $j))))
                (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.mul (local.get $w0) (local.get $g))))
                (local.set $at (i32.add (local.get $base) (i32.add (local.get $s1) (local.get $j))))
                (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.mul (local.get $w1) (local.get $g))))
                (local.set $at (i32.add (local.get $base) (i32.add (local.get $s2) (local.get $j))))
                (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.mul (local.get $w2) (local.get $g))))
                (local.set $at (i32.add (local.get $base) (i32.add (local.get $s3) (local.get $j))))
                (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.mul (local.get $w3) (local.get $g))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $channels)))
            (local.set $o (i32.add (local.get $o) (i32.mul (local.get $plane) (local.get $c))))
            (local.set $base (i32.add (local.get $base) (i32.mul (local.get $p) (local.get $pixel))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $pictures)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pixels))))

  ;; Three channels (RGB) four lanes at a time: a pixel's three floats and the next one's
  ;; first. Lane 3 is never kept: its store lands on the next output pixel, written after (so
  ;; the last pixel is left to sample_gather). Loads read up to one float past the source: it
  ;; declines (returns 0) when that would be past the end of memory. Not for scatter: its
  ;; read-modify-writes of overlapping 16-byte spans defeat store-to-load forwarding, and ran
  ;; at half the speed of the scalar loop.
  (func $fits (param $end i32) (result i32)
    (i32.le_u (i32.shr_u (i32.add (local.get $end) (i32.const 65551)) (i32.const 16)) (memory.size)))

  ;;   sample_gather3: sample_gather for c = 3 over output pixels 0..n-2.
  (func (export "sample_gather3")
    (param $out i32) (param $src i32) (param $index i32) (param $weight i32)
    (param $n i32) (param $p i32) (param $batch i32) (param $fill f32) (param $scale f32) (param $offset f32) (result i32)
    (local $i i32) (local $b i32) (local $plane i32) (local $o i32) (local $base i32) (local $last i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $g v128) (local $k v128) (local $a v128)
    (local.set $k (f32x4.splat (local.get $scale)))
    (local.set $a (f32x4.splat (local.get $offset)))
    (if (i32.eqz (call $fits (i32.add (local.get $src) (i32.mul (i32.mul (local.get $batch) (local.get $p)) (i32.const 12)))))
      (then (return (i32.const 0))))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $last (i32.sub (local.get $n) (i32.const 1)))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_s (local.get $i) (local.get $last)))
        (call $taps (local.get $index) (local.get $i) (local.get $plane) (i32.const 12))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (call $weights (local.get $weight) (local.get $i) (local.get $plane))
        (local.set $g (f32x4.splat (f32.mul (local.get $fill))))
        (local.set $w3 (f32x4.splat)) (local.set $w2 (f32x4.splat)) (local.set $w1 (f32x4.splat)) (local.set $w0 (f32x4.splat))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 12))))
        (local.set $base (local.get $src))
        (local.set $b (i32.const 0))
        (block $batch_done
          (loop $pictures
            (br_if $batch_done (i32.ge_u (local.get $b) (local.get $batch)))
            (v128.store (local.get $o)
              (f32x4.add
                (f32x4.mul
                  (f32x4.add
                    (f32x4.add
                      (f32x4.add
                        (f32x4.mul (local.get $w0) (v128.load (i32.add (local.get $base) (local.get $s0))))
                        (f32x4.mul (local.get $w1) (v128.load (i32.add (local.get $base) (local.get $s1)))))
                      (f32x4.add
                        (f32x4.mul (local.get $w2) (v128.load (i32.add (local.get $base) (local.get $s2))))
                        (f32x4.mul (local.get $w3) (v128.load (i32.add (local.get $base) (local.get $s3))))))
                    (local.get $g))
                  (local.get $k))
                (local.get $a)))
            (local.set $o (i32.add (local.get $o) (i32.mul (local.get $plane) (i32.const 3))))
            (local.set $base (i32.add (local.get $base) (i32.mul (local.get $p) (i32.const 12))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $pictures)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pixels)))
    (i32.const 1))

  ;; Output pixel i's four source pixels as byte offsets into a picture of `pixel`-byte pixels.
  (func $taps (param $index i32) (param $i i32) (param $plane i32) (param $pixel i32)
    (result i32 i32 i32 i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $index) (i32.shl (local.get $i) (i32.const 2))))
    (i32.mul (i32.load (local.get $at)) (local.get $pixel))
    (i32.mul (i32.load (i32.add (local.get $at) (local.get $plane))) (local.get $pixel))
    (i32.mul (i32.load (i32.add (local.get $at) (i32.shl (local.get $plane) (i32.const 1)))) (local.get $pixel))
    (i32.mul (i32.load (i32.add (local.get $at) (i32.mul (local.get $plane) (i32.const 3)))) (local.get $pixel)))

  ;; Output pixel i's five weights: the four taps' and the fill's.
  (func $weights (param $weight i32) (param $i i32) (param $plane i32)
    (result f32 f32 f32 f32 f32)
    (local $at i32)
    (local.set $at (i32.add (local.get $weight) (i32.shl (local.get $i) (i32.const 2))))
    (f32.load (local.get $at))
    (f32.load (i32.add (local.get $at) (local.get $plane)))
    (f32.load (i32.add (local.get $at) (i32.shl (local.get $plane) (i32.const 1))))
    (f32.load (i32.add (local.get $at) (i32.mul (local.get $plane) (i32.const 3))))
    (f32.load (i32.add (local.get $at) (i32.shl (local.get $plane) (i32.const 2)))))

  ;; 2-D real inverse FFT (numpy.fft.irfft2) of power-of-two sizes and its adjoint
  ;; (backend/fft-kernels.ts), four transforms at a time, one per lane. Scratch, laid out by the caller:
  ;;   buf  n vectors of complex values, a v128 of real parts then one of imaginary parts
  ;;   tw   n/2 cosines then n/2 of -sin(2 pi k / n), for n = h and for n = w
  ;;   rev  n bit-reversed indices as byte offsets into buf (k -> bitrev(k) * 32)
  ;;   zr, zi  the half spectrum between the passes, [h][wf4] with wf4 = wf rounded up to 4
  ;; Spectra are [planes][h][wf], wf = w/2 + 1; images [planes][h][w]. With `scaled`, the
  ;; spectrum is first multiplied bin by bin by the [h][wf] plane at `scale` (the spectral
  ;; image's 1/f weights), and the adjoint's result by it last: the float32 products a
  ;; separate multiply would make, without its passes over the batch.

  ;; In place, radix 2, on buf already in bit-reversed order: forward (sign 1) or unscaled
  ;; inverse (sign -1) transforms of length n, one per lane.
  (func $fft4 (param $buf i32) (param $n i32) (param $tw i32) (param $sign f32)
    (local $half i32) (local $span i32) (local $step i32) (local $j i32) (local $at i32) (local $end i32)
    (local $wr v128) (local $wi v128) (local $ar v128) (local $ai v128) (local $br v128) (local $bi v128)
    (local $tr v128) (local $ti v128) (local $twim i32)
    (local.set $twim (i32.add (local.get $tw) (i32.shl (local.get $n) (i32.const 1))))
    (local.set $end (i32.add (local.get $buf) (i32.shl (local.get $n) (i32.const 5))))
    (local.set $half (i32.const 1))
    (block $stages_done
      (loop $stages
        (br_if $stages_done (i32.ge_u (local.get $half) (local.get $n)))
        (local.set $span (i32.shl (local.get $half) (i32.const 6))) ;; 2 * half vectors, in bytes
        (local.set $step (i32.shl (i32.div_u (local.get $n) (i32.shl (local.get $half) (i32.const 1))) (i32.const 2)))
        (local.set $j (i32.const 0))
        (block $j_done
          (loop $twiddles
            (br_if $j_done (i32.ge_u (local.get $j) (local.get $half)))
            (local.set $wr (f32x4.splat (f32.load (i32.add (local.get $tw) (i32.mul (local.get $j) (local.get $step))))))
            (local.set $wi (f32x4.splat (f32.mul (local.get $sign) (f32.load (i32.add (local.get $twim) (i32.mul (local.get $j) (local.get $step)))))))
            (local.set $at (i32.add (local.get $buf) (i32.shl (local.get $j) (i32.const 5))))
            (block $b_done
              (loop $butterflies
                (br_if $b_done (i32.ge_u (local.get $at) (local.get $end)))
                (local.set $ar (v128.load (local.get $at)))
                (local.set $ai (v128.load offset=16 (local.get $at)))
                (local.set $br (v128.load (i32.add (local.get $at) (i32.shl (local.get $half) (i32.const 5)))))
                (local.set $bi (v128.load offset=16 (i32.add (local.get $at) (i32.shl (local.get $half) (i32.const 5)))))
                (local.set $tr (f32x4.sub (f32x4.mul (local.get $br) (local.get $wr)) (f32x4.mul (local.get $bi) (local.get $wi))))
                (local.set $ti (f32x4.add (f32x4.mul (local.get $br) (local.get $wi)) (f32x4.mul (local.get $bi) (local.get $wr))))
                (v128.store (local.get $at) (f32x4.add (local.get $ar) (local.get $tr)))
                (v128.store offset=16 (local.get $at) (f32x4.add (local.get $ai) (local.get $ti)))
                (v128.store (i32.add (local.get $at) (i32.shl (local.get $half) (i32.const 5))) (f32x4.sub (local.get $ar) (local.get $tr)))
                (v128.store offset=16 (i32.add (local.get $at) (i32.shl (local.get $half) (i32.const 5))) (f32x4.sub (local.get $ai) (local.get $ti)))
                (local.set $at (i32.add (local.get $at) (local.get $span)))
                (br $butterflies)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $twiddles)))
        (local.set $half (i32.shl (local.get $half) (i32.const 1)))
        (br $stages))))

  ;; The four lanes of v as floats at to, to + stride, to + 2 stride, to + 3 stride (bytes).
  (func $store_lanes (param $to i32) (param $stride i32) (param $v v128)
    (f32.store (local.get $to) (f32x4.extract_lane 0 (local.get $v)))
    (f32.store (i32.add (local.get $to) (local.get $stride)) (f32x4.extract_lane 1 (local.get $v)))
    (f32.store (i32.add (local.get $to) (i32.shl (local.get $stride) (i32.const 1))) (f32x4.extract_lane 2 (local.get $v)))
    (f32.store (i32.add (local.get $to) (i32.mul (local.get $stride) (i32.const 3))) (f32x4.extract_lane 3 (local.get $v))))

  ;; The first count (1 to 3) floats at a as a vector's first lanes, the rest 0.
  (func $load_first (param $a i32) (param $count i32) (result v128)
    (local $v v128)
    (local.set $v (f32x4.replace_lane 0 (v128.const f32x4 0 0 0 0) (f32.load (local.get $a))))
    (if (i32.gt_u (local.get $count) (i32.const 1))
      (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $a))))))
    (if (i32.gt_u (local.get $count) (i32.const 2))
      (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $a))))))
    (local.get $v))

  (func (export "irfft2")
    (param $out i32) (param $re i32) (param $im i32) (param $scale_at i32) (param $scaled i32) (param $planes i32) (param $h i32) (param $w i32)
    (param $buf i32) (param $twh i32) (param $tww i32) (param $revh i32) (param $revw i32) (param $zr i32) (param $zi i32)
    (local $bin i32) (local $vr v128) (local $vi v128) (local $sv v128)
    (local $p i32) (local $m i32) (local $k i32) (local $y i32) (local $x i32)
    (local $wf i32) (local $wf4 i32) (local $row i32) (local $src i32) (local $dst i32) (local $plane i32)
    (local $scale f32) (local $sgn f32) (local $v v128) (local $at i32)
    (local.set $wf (i32.add (i32.shr_u (local.get $w) (i32.const 1)) (i32.const 1)))
    (local.set $wf4 (i32.and (i32.add (local.get $wf) (i32.const 3)) (i32.const -4)))
    (local.set $row (i32.shl (local.get $wf4) (i32.const 2)))
    (local.set $plane (i32.mul (i32.mul (local.get $h) (local.get $wf)) (i32.const 4)))
    (local.set $scale (f32.div (f32.const 1) (f32.convert_i32_u (i32.mul (local.get $h) (local.get $w)))))
    (block $planes_done
      (loop $planes_loop
        (br_if $planes_done (i32.ge_u (local.get $p) (local.get $planes)))
        ;; Columns: a complex inverse along h, four columns a lane each.
        (local.set $m (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $m) (local.get $wf)))
            (local.set $k (i32.const 0))
            (block $load_done
              (loop $load
                (br_if $load_done (i32.ge_u (local.get $k) (local.get $h)))
                (local.set $src (i32.add (i32.mul (local.get $p) (local.get $plane))
                  (i32.shl (i32.add (i32.mul (local.get $k) (local.get $wf)) (local.get $m)) (i32.const 2))))
                (local.set $dst (i32.add (local.get $buf) (i32.load (i32.add (local.get $revh) (i32.shl (local.get $k) (i32.const 2))))))
                (local.set $bin (i32.add (local.get $scale_at) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $wf)) (local.get $m)) (i32.const 2))))
                ;; The last group of columns holds fewer than four: read only those.
                (if (i32.le_u (i32.add (local.get $m) (i32.const 4)) (local.get $wf))
                  (then
                    (local.set $vr (v128.load (i32.add (local.get $re) (local.get $src))))
                    (local.set $vi (v128.load (i32.add (local.get $im) (local.get $src))))
                    (if (local.get $scaled) (then (local.set $sv (v128.load (local.get $bin))))))
                  (else
                    (local.set $vr (call $load_first (i32.add (local.get $re) (local.get $src)) (i32.sub (local.get $wf) (local.get $m))))
                    (local.set $vi (call $load_first (i32.add (local.get $im) (local.get $src)) (i32.sub (local.get $wf) (local.get $m))))
                    (if (local.get $scaled) (then (local.set $sv (call $load_first (local.get $bin) (i32.sub (local.get $wf) (local.get $m))))))))
                (if (local.get $scaled)
                  (then
                    (local.set $vr (f32x4.mul (local.get $vr) (local.get $sv)))
                    (local.set $vi (f32x4.mul (local.get $vi) (local.get $sv)))))
                (v128.store (local.get $dst) (local.get $vr))
                (v128.store offset=16 (local.get $dst) (local.get $vi))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $load)))
            (call $fft4 (local.get $buf) (local.get $h) (local.get $twh) (f32.const -1))
            (local.set $y (i32.const 0))
            (block $save_done
              (loop $save
                (br_if $save_done (i32.ge_u (local.get $y) (local.get $h)))
                (local.set $dst (i32.add (i32.mul (local.get $y) (local.get $row)) (i32.shl (local.get $m) (i32.const 2))))
                (local.set $src (i32.add (local.get $buf) (i32.shl (local.get $y) (i32.const 5))))
                (v128.store (i32.add (local.get $zr) (local.get $dst)) (v128.load (local.get $src)))
                (v128.store (i32.add (local.get $zi) (local.get $dst)) (v128.load offset=16 (local.get $src)))
                (local.set $y (i32.add (local.get $y) (i32.const 1)))
                (br $save)))
            (local.set $m (i32.add (local.get $m) (i32.const 4)))
            (br $cols)))
        ;; numpy keeps only the real part of the DC and Nyquist columns after that pass.
        (local.set $y (i32.const 0))
        (block $dc_done
          (loop $dc
            (br_if $dc_done (i32.ge_u (local.get $y) (local.get $h)))
            (f32.store (i32.add (local.get $zi) (i32.mul (local.get $y) (local.get $row))) (f32.const 0))
            (f32.store (i32.add (local.get $zi) (i32.add (i32.mul (local.get $y) (local.get $row)) (i32.shl (i32.sub (local.get $wf) (i32.const 1)) (i32.const 2)))) (f32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (br $dc)))
        ;; Rows: Hermitian-extended (bin m >= wf is the conjugate of bin w - m), a complex
        ;; inverse along w, four rows a lane each; the real part is the image.
        (local.set $y (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
            (local.set $x (i32.const 0))
            (block $ext_done
              (loop $ext
                (br_if $ext_done (i32.ge_u (local.get $x) (local.get $w)))
                (local.set $k (select (local.get $x) (i32.sub (local.get $w) (local.get $x)) (i32.lt_u (local.get $x) (local.get $wf))))
                (local.set $sgn (select (f32.const 1) (f32.const -1) (i32.lt_u (local.get $x) (local.get $wf))))
                (local.set $src (i32.add (i32.mul (local.get $y) (local.get $row)) (i32.shl (local.get $k) (i32.const 2))))
                (local.set $dst (i32.add (local.get $buf) (i32.load (i32.add (local.get $revw) (i32.shl (local.get $x) (i32.const 2))))))
                (local.set $at (i32.add (local.get $zr) (local.get $src)))
                (v128.store (local.get $dst) (f32x4.replace_lane 3
                    (f32x4.replace_lane 2
                      (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $at))) (f32.load (i32.add (local.get $at) (local.get $row))))
                      (f32.load (i32.add (local.get $at) (i32.shl (local.get $row) (i32.const 1)))))
                    (f32.load (i32.add (local.get $at) (i32.mul (local.get $row) (i32.const 3))))))
                (local.set $at (i32.add (local.get $zi) (local.get $src)))
                (v128.store offset=16 (local.get $dst) (f32x4.mul (f32x4.replace_lane 3
                    (f32x4.replace_lane 2
                      (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $at))) (f32.load (i32.add (local.get $at) (local.get $row))))
                      (f32.load (i32.add (local.get $at) (i32.shl (local.get $row) (i32.const 1)))))
                    (f32.load (i32.add (local.get $at) (i32.mul (local.get $row) (i32.const 3))))) (f32x4.splat (local.get $sgn))))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $ext)))
            (call $fft4 (local.get $buf) (local.get $w) (local.get $tww) (f32.const -1))
            (local.set $x (i32.const 0))
            (block $out_done
              (loop $outs
                (br_if $out_done (i32.ge_u (local.get $x) (local.get $w)))
                (local.set $v (f32x4.mul (v128.load (i32.add (local.get $buf) (i32.shl (local.get $x) (i32.const 5)))) (f32x4.splat (local.get $scale))))
                (local.set $dst (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $p) (local.get $h)) (local.get $y)) (local.get $w)) (local.get $x)) (i32.const 2))))
                (call $store_lanes (local.get $dst) (i32.shl (local.get $w) (i32.const 2)) (local.get $v))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $outs)))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (br $rows)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $planes_loop))))

  ;; The adjoint of irfft2, its gradient: rows of g through a forward transform along w (four
  ;; rows a lane each), bins 0..wf-1 kept with weight 2/w, as each stands for itself and its
  ;; dropped mirror (1/w and no imaginary part for DC and Nyquist); then a forward transform
  ;; down each column, divided by h.
  (func (export "irfft2_adjoint")
    (param $reout i32) (param $imout i32) (param $g i32) (param $scale_at i32) (param $scaled i32) (param $planes i32) (param $h i32) (param $w i32)
    (param $buf i32) (param $twh i32) (param $tww i32) (param $revh i32) (param $revw i32) (param $zr i32) (param $zi i32)
    (local $bin i32) (local $sv v128)
    (local $p i32) (local $m i32) (local $k i32) (local $y i32) (local $x i32) (local $wf i32) (local $wf4 i32)
    (local $row i32) (local $src i32) (local $dst i32) (local $at i32) (local $edge i32)
    (local $s f32) (local $vr v128) (local $vi v128) (local $inv v128)
    (local.set $wf (i32.add (i32.shr_u (local.get $w) (i32.const 1)) (i32.const 1)))
    (local.set $wf4 (i32.and (i32.add (local.get $wf) (i32.const 3)) (i32.const -4)))
    (local.set $row (i32.shl (local.get $wf4) (i32.const 2)))
    (local.set $inv (f32x4.splat (f32.div (f32.const 1) (f32.convert_i32_u (local.get $h)))))
    (block $planes_done
      (loop $planes_loop
        (br_if $planes_done (i32.ge_u (local.get $p) (local.get $planes)))
        (local.set $y (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
            (local.set $x (i32.const 0))
            (block $load_done
              (loop $load
                (br_if $load_done (i32.ge_u (local.get $x) (local.get $w)))
                (local.set $at (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $p) (local.get $h)) (local.get $y)) (local.get $w)) (local.get $x)) (i32.const 2))))
                (local.set $dst (i32.add (local.get $buf) (i32.load (i32.add (local.get $revw) (i32.shl (local.get $x) (i32.const 2))))))
                (v128.store (local.get $dst) (f32x4.replace_lane 3
                    (f32x4.replace_lane 2
                      (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $at))) (f32.load (i32.add (local.get $at) (i32.shl (local.get $w) (i32.const 2)))))
                      (f32.load (i32.add (local.get $at) (i32.shl (i32.shl (local.get $w) (i32.const 2)) (i32.const 1)))))
                    (f32.load (i32.add (local.get $at) (i32.mul (i32.shl (local.get $w) (i32.const 2)) (i32.const 3))))))
                (v128.store offset=16 (local.get $dst) (v128.const f32x4 0 0 0 0))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $load)))
            (call $fft4 (local.get $buf) (local.get $w) (local.get $tww) (f32.const 1))
            (local.set $m (i32.const 0))
            (block $bins_done
              (loop $bins
                (br_if $bins_done (i32.ge_u (local.get $m) (local.get $wf)))
                (local.set $edge (i32.or (i32.eqz (local.get $m)) (i32.eq (local.get $m) (i32.sub (local.get $wf) (i32.const 1)))))
                (local.set $s (f32.div (select (f32.const 1) (f32.const 2) (local.get $edge)) (f32.convert_i32_u (local.get $w))))
                (local.set $src (i32.add (local.get $buf) (i32.shl (local.get $m) (i32.const 5))))
                (local.set $vr (f32x4.mul (v128.load (local.get $src)) (f32x4.splat (local.get $s))))
                (local.set $vi (f32x4.mul (v128.load offset=16 (local.get $src)) (f32x4.splat (select (f32.const 0) (local.get $s) (local.get $edge)))))
                (local.set $dst (i32.add (i32.mul (local.get $y) (local.get $row)) (i32.shl (local.get $m) (i32.const 2))))
                (call $store_lanes (i32.add (local.get $zr) (local.get $dst)) (local.get $row) (local.get $vr))
                (call $store_lanes (i32.add (local.get $zi) (local.get $dst)) (local.get $row) (local.get $vi))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br $bins)))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (br $rows)))
        (local.set $m (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $m) (local.get $wf)))
            (local.set $y (i32.const 0))
            (block $gather_done
              (loop $gather
                (br_if $gather_done (i32.ge_u (local.get $y) (local.get $h)))
                (local.set $src (i32.add (i32.mul (local.get $y) (local.get $row)) (i32.shl (local.get $m) (i32.const 2))))
                (local.set $dst (i32.add (local.get $buf) (i32.load (i32.add (local.get $revh) (i32.shl (local.get $y) (i32.const 2))))))
                (v128.store (local.get $dst) (v128.load (i32.add (local.get $zr) (local.get $src))))
                (v128.store offset=16 (local.get $dst) (v128.load (i32.add (local.get $zi) (local.get $src))))
                (local.set $y (i32.add (local.get $y) (i32.const 1)))
                (br $gather)))
            (call $fft4 (local.get $buf) (local.get $h) (local.get $twh) (f32.const 1))
            (local.set $k (i32.const 0))
            (block $put_done
              (loop $put
                (br_if $put_done (i32.ge_u (local.get $k) (local.get $h)))
                (local.set $src (i32.add (local.get $buf) (i32.shl (local.get $k) (i32.const 5))))
                (local.set $vr (f32x4.mul (v128.load (local.get $src)) (local.get $inv)))
                (local.set $vi (f32x4.mul (v128.load offset=16 (local.get $src)) (local.get $inv)))
                (if (local.get $scaled)
                  (then
                    (local.set $bin (i32.add (local.get $scale_at) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $wf)) (local.get $m)) (i32.const 2))))
                    (local.set $sv
                      (if (result v128) (i32.le_u (i32.add (local.get $m) (i32.const 4)) (local.get $wf))
                        (then (v128.load (local.get $bin)))
                        (else (call $load_first (local.get $bin) (i32.sub (local.get $wf) (local.get $m))))))
                    (local.set $vr (f32x4.mul (local.get $vr) (local.get $sv)))
                    (local.set $vi (f32x4.mul (local.get $vi) (local.get $sv)))))
                (local.set $dst (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $p) (local.get $h)) (local.get $k)) (local.get $wf)) (local.get $m)) (i32.const 2)))
                ;; The last group of columns holds fewer than four: store only those.
                (if (i32.le_u (i32.add (local.get $m) (i32.const 4)) (local.get $wf))
                  (then
                    (v128.store (i32.add (local.get $reout) (local.get $dst)) (local.get $vr))
                    (v128.store (i32.add (local.get $imout) (local.get $dst)) (local.get $vi)))
                  (else
                    (f32.store (i32.add (local.get $reout) (local.get $dst)) (f32x4.extract_lane 0 (local.get $vr)))
                    (f32.store (i32.add (local.get $imout) (local.get $dst)) (f32x4.extract_lane 0 (local.get $vi)))
                    (if (i32.lt_u (i32.add (local.get $m) (i32.const 1)) (local.get $wf))
                      (then
                        (f32.store offset=4 (i32.add (local.get $reout) (local.get $dst)) (f32x4.extract_lane 1 (local.get $vr)))
                        (f32.store offset=4 (i32.add (local.get $imout) (local.get $dst)) (f32x4.extract_lane 1 (local.get $vi)))))
                    (if (i32.lt_u (i32.add (local.get $m) (i32.const 2)) (local.get $wf))
                      (then
                        (f32.store offset=8 (i32.add (local.get $reout) (local.get $dst)) (f32x4.extract_lane 2 (local.get $vr)))
                        (f32.store offset=8 (i32.add (local.get $imout) (local.get $dst)) (f32x4.extract_lane 2 (local.get $vi)))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $put)))
            (local.set $m (i32.add (local.get $m) (i32.const 4)))
            (br $cols)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $planes_loop))))

  ;; Adam's update in float32, op for op as tfjs's AdamOptimizer computes it on tensors:
  ;;   m' = m b1 + g c1,  v' = v b2 + (g g) c2,  x' = ((m' / d1) / (sqrt(v' / d2) + eps)) nlr + x
  ;; (c = 1 - b, d = 1 - b^t, nlr = -lr, all rounded to float32 by the caller), so the bytes
  ;; match. Four lanes; the tail goes through the same function one lane at a time.
  (func $adam4
    (param $x v128) (param $g v128) (param $m v128) (param $v v128)
    (param $b1 v128) (param $c1 v128) (param $b2 v128) (param $c2 v128)
    (param $d1 v128) (param $d2 v128) (param $eps v128) (param $nlr v128)
    (result v128 v128 v128)
    (local $m2 v128) (local $v2 v128)
    (local.set $m2 (f32x4.add (f32x4.mul (local.get $m) (local.get $b1)) (f32x4.mul (local.get $g) (local.get $c1))))
    (local.set $v2 (f32x4.add (f32x4.mul (local.get $v) (local.get $b2)) (f32x4.mul (f32x4.mul (local.get $g) (local.get $g)) (local.get $c2))))
    (f32x4.add
      (f32x4.mul
        (f32x4.div
          (f32x4.div (local.get $m2) (local.get $d1))
          (f32x4.add (f32x4.sqrt (f32x4.div (local.get $v2) (local.get $d2))) (local.get $eps)))
        (local.get $nlr))
      (local.get $x))
    (local.get $m2)
    (local.get $v2))

  ;;   adam_step: x', m', v' (byte offsets xo, mo, vo) from x, g, m, v, n floats each.
  (func (export "adam_step")
    (param $xo i32) (param $mo i32) (param $vo i32) (param $x i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $d1 f32) (param $d2 f32) (param $eps f32) (param $nlr f32)
    (local $i i32) (local $end i32) (local $vend i32)
    (local $kb1 v128) (local $kc1 v128) (local $kb2 v128) (local $kc2 v128) (local $kd1 v128) (local $kd2 v128) (local $keps v128) (local $knlr v128)
    (local $rx v128) (local $rm v128) (local $rv v128)
    (local.set $kb1 (f32x4.splat (local.get $b1)))
    (local.set $kc1 (f32x4.splat (local.get $c1)))
    (local.set $kb2 (f32x4.splat (local.get $b2)))
    (local.set $kc2 (f32x4.splat (local.get $c2)))
    (local.set $kd1 (f32x4.splat (local.get $d1)))
    (local.set $kd2 (f32x4.splat (local.get $d2)))
    (local.set $keps (f32x4.splat (local.get $eps)))
    (local.set $knlr (f32x4.splat (local.get $nlr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vend (i32.and (local.get $end) (i32.const -16)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $vend)))
        (call $adam4
          (v128.load (i32.add (local.get $x) (local.get $i)))
          (v128.load (i32.add (local.get $g) (local.get $i)))
          (v128.load (i32.add (local.get $m) (local.get $i)))
          (v128.load (i32.add (local.get $v) (local.get $i)))
          (local.get $kb1) (local.get $kc1) (local.get $kb2) (local.get $kc2)
          (local.get $kd1) (local.get $kd2) (local.get $keps) (local.get $knlr))
        (local.set $rv) (local.set $rm) (local.set $rx)
        (v128.store (i32.add (local.get $xo) (local.get $i)) (local.get $rx))
        (v128.store (i32.add (local.get $mo) (local.get $i)) (local.get $rm))
        (v128.store (i32.add (local.get $vo) (local.get $i)) (local.get $rv))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
        (call $adam4
          (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i))))
          (f32x4.splat (f32.load (i32.add (local.get $g) (local.get $i))))
          (f32x4.splat (f32.load (i32.add (local.get $m) (local.get $i))))
          (f32x4.splat (f32.load (i32.add (local.get $v) (local.get $i))))
          (local.get $kb1) (local.get $kc1) (local.get $kb2) (local.get $kc2)
          (local.get $kd1) (local.get $kd2) (local.get $keps) (local.get $knlr))
        (local.set $rv) (local.set $rm) (local.set $rx)
        (f32.store (i32.add (local.get $xo) (local.get $i)) (f32x4.extract_lane 0 (local.get $rx)))
        (f32.store (i32.add (local.get $mo) (local.get $i)) (f32x4.extract_lane 0 (local.get $rm)))
        (f32.store (i32.add (local.get $vo) (local.get $i)) (f32x4.extract_lane 0 (local.get $rv)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; Lucid's colour decorrelation between the spectral image's planes and the network's
  ;; pixels (backend/colour-mix.ts), four pixels at a time, done as the transpose, division
  ;; and XNNPACK matrix product it replaces did it: out_j = ((0 + x_0 m_0j) + x_1 m_1j) + x_2 m_2j
  ;; with x_i = plane_i / divisor. The matrix m is 9 floats at byte offset $m, row-major.
  (func $dot3 (param $a v128) (param $b v128) (param $c v128) (param $m i32) (param $col i32) (param $step i32) (result v128)
    ;; a m[col] + b m[col + step] + c m[col + 2 step] (float offsets), summed left to right from 0.
    (f32x4.add
      (f32x4.add
        (f32x4.add
          (v128.const f32x4 0 0 0 0)
          (f32x4.mul (local.get $a) (v128.load32_splat (i32.add (local.get $m) (i32.shl (local.get $col) (i32.const 2))))))
        (f32x4.mul (local.get $b) (v128.load32_splat (i32.add (local.get $m) (i32.shl (i32.add (local.get $col) (local.get $step)) (i32.const 2))))))
      (f32x4.mul (local.get $c) (v128.load32_splat (i32.add (local.get $m) (i32.shl (i32.add (local.get $col) (i32.shl (local.get $step) (i32.const 1))) (i32.const 2)))))))

  ;;   mix_planes3: planes [batch, 3, n] -> out [batch, n, 3], out[b][p][j] = sum_i (planes[b][i][p] / divisor) m[i][j].
  (func (export "mix_planes3")
    (param $out i32) (param $planes i32) (param $batch i32) (param $n i32) (param $m i32) (param $divisor f32)
    (local $b i32) (local $p i32) (local $vend i32) (local $plane i32) (local $src i32) (local $o i32) (local $d v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $r0 v128) (local $r1 v128) (local $r2 v128)
    (local.set $d (f32x4.splat (local.get $divisor)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vend (i32.and (local.get $n) (i32.const -4)))
    (local.set $o (local.get $out))
    (block $b_done
      (loop $pictures
        (br_if $b_done (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $src (i32.add (local.get $planes) (i32.mul (local.get $b) (i32.mul (local.get $plane) (i32.const 3)))))
        (local.set $p (i32.const 0))
        (block $p_done
          (loop $pixels
            (br_if $p_done (i32.ge_u (local.get $p) (local.get $n)))
            (if (i32.lt_u (local.get $p) (local.get $vend))
              (then
                (local.set $x0 (v128.load (local.get $src)))
                (local.set $x1 (v128.load (i32.add (local.get $src) (local.get $plane))))
                (local.set $x2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $plane) (i32.const 1))))))
              (else
                ;; The tail, a pixel at a time (lane 0 kept).
                (local.set $x0 (v128.load32_splat (local.get $src)))
                (local.set $x1 (v128.load32_splat (i32.add (local.get $src) (local.get $plane))))
                (local.set $x2 (v128.load32_splat (i32.add (local.get $src) (i32.shl (local.get $plane) (i32.const 1)))))))
            (local.set $x0 (f32x4.div (local.get $x0) (local.get $d)))
            (local.set $x1 (f32x4.div (local.get $x1) (local.get $d)))
            (local.set $x2 (f32x4.div (local.get $x2) (local.get $d)))
            (local.set $r0 (call $dot3 (local.get $x0) (local.get $x1) (local.get $x2) (local.get $m) (i32.const 0) (i32.const 3)))
            (local.set $r1 (call $dot3 (local.get $x0) (local.get $x1) (local.get $x2) (local.get $m) (i32.const 1) (i32.const 3)))
            (local.set $r2 (call $dot3 (local.get $x0) (local.get $x1) (local.get $x2) (local.get $m) (i32.const 2) (i32.const 3)))
            (if (i32.lt_u (local.get $p) (local.get $vend))
              (then
                ;; Interleave r0, r1, r2 (a channel each, four pixels) into 12 pixel-major floats.
                (v128.store (local.get $o)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 8 9 10 11
                    (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1))
                    (local.get $r2)))
                (v128.store offset=16 (local.get $o)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 8 9 10 11
                    (i8x16.shuffle 4 5 6 7 20 21 22 23 8 9 10 11 24 25 26 27 (local.get $r1) (local.get $r2))
                    (local.get $r0)))
                (v128.store offset=32 (local.get $o)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 28 29 30 31 8 9 10 11
                    (i8x16.shuffle 24 25 26 27 12 13 14 15 28 29 30 31 0 1 2 3 (local.get $r0) (local.get $r2))
                    (local.get $r1)))
                (local.set $o (i32.add (local.get $o) (i32.const 48)))
                (local.set $src (i32.add (local.get $src) (i32.const 16)))
                (local.set $p (i32.add (local.get $p) (i32.const 4))))
              (else
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $r0)))
                (f32.store offset=4 (local.get $o) (f32x4.extract_lane 0 (local.get $r1)))
                (f32.store offset=8 (local.get $o) (f32x4.extract_lane 0 (local.get $r2)))
                (local.set $o (i32.add (local.get $o) (i32.const 12)))
                (local.set $src (i32.add (local.get $src) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))))
            (br $pixels)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $pictures))))

  ;;   unmix_planes3, its adjoint: dy [batch, n, 3] -> out [batch, 3, n],
  ;;   out[b][i][p] = (sum_j dy[b][p][j] m[i][j]) / divisor.
  (func (export "unmix_planes3")
    (param $out i32) (param $dy i32) (param $batch i32) (param $n i32) (param $m i32) (param $divisor f32)
    (local $b i32) (local $p i32) (local $vend i32) (local $plane i32) (local $dst i32) (local $src i32) (local $d v128)
    (local $a v128) (local $bb v128) (local $c v128) (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $g v128) (local $i i32)
    (local.set $d (f32x4.splat (local.get $divisor)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vend (i32.and (local.get $n) (i32.const -4)))
    (local.set $src (local.get $dy))
    (block $b_done
      (loop $pictures
        (br_if $b_done (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $plane) (i32.const 3)))))
        (local.set $p (i32.const 0))
        (block $p_done
          (loop $pixels
            (br_if $p_done (i32.ge_u (local.get $p) (local.get $n)))
            (if (i32.lt_u (local.get $p) (local.get $vend))
              (then
                ;; 12 pixel-major floats into a vector per channel.
                (local.set $a (v128.load (local.get $src)))
                (local.set $bb (v128.load offset=16 (local.get $src)))
                (local.set $c (v128.load offset=32 (local.get $src)))
                (local.set $d0 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 20 21 22 23
                  (i8x16.shuffle 0 1 2 3 12 13 14 15 24 25 26 27 0 1 2 3 (local.get $a) (local.get $bb)) (local.get $c)))
                (local.set $d1 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 24 25 26 27
                  (i8x16.shuffle 4 5 6 7 16 17 18 19 28 29 30 31 0 1 2 3 (local.get $a) (local.get $bb)) (local.get $c)))
                (local.set $d2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 28 29 30 31
                  (i8x16.shuffle 8 9 10 11 20 21 22 23 0 1 2 3 0 1 2 3 (local.get $a) (local.get $bb)) (local.get $c))))
              (else
                (local.set $d0 (v128.load32_splat (local.get $src)))
                (local.set $d1 (v128.load32_splat offset=4 (local.get $src)))
                (local.set $d2 (v128.load32_splat offset=8 (local.get $src)))))
            (local.set $i (i32.const 0))
            (block $i_done
              (loop $channels
                (br_if $i_done (i32.ge_u (local.get $i) (i32.const 3)))
                (local.set $g (f32x4.div
                  (call $dot3 (local.get $d0) (local.get $d1) (local.get $d2) (local.get $m) (i32.mul (local.get $i) (i32.const 3)) (i32.const 1))
                  (local.get $d)))
                (if (i32.lt_u (local.get $p) (local.get $vend))
                  (then (v128.store (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $plane))) (local.get $g)))
                  (else (f32.store (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $plane))) (f32x4.extract_lane 0 (local.get $g)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $channels)))
            (if (i32.lt_u (local.get $p) (local.get $vend))
              (then
                (local.set $src (i32.add (local.get $src) (i32.const 48)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $p (i32.add (local.get $p) (i32.const 4))))
              (else
                (local.set $src (i32.add (local.get $src) (i32.const 12)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))))
            (br $pixels)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $pictures))))

  ;; out [n, h sh, w sw, c] = x [n, h, w, c] spread onto every sh-th row and sw-th column,
  ;; zeros elsewhere (conv-gradients.ts: a strided convolution's output gradient, dilated for
  ;; the stride-1 correlation that is its input gradient). One pixel of c floats a copy.
  (func (export "zero_dilate")
    (param $out i32) (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $sh i32) (param $sw i32)
    (local $pixel i32) (local $row i32) (local $rows i32) (local $o i32) (local $ox i32) (local $j i32) (local $step i32) (local $down i32)
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $step (i32.mul (local.get $pixel) (local.get $sw)))
    ;; One output row, then the sh - 1 zero rows below it.
    (local.set $down (i32.mul (i32.mul (local.get $step) (local.get $w)) (local.get $sh)))
    (local.set $rows (i32.mul (local.get $n) (local.get $h)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $rows) (local.get $down)))
    (local.set $o (local.get $out))
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $ox (local.get $o))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $each_col
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $w)))
            (memory.copy (local.get $ox) (local.get $x) (local.get $pixel))
            (local.set $x (i32.add (local.get $x) (local.get $pixel)))
            (local.set $ox (i32.add (local.get $ox) (local.get $step)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each_col)))
        (local.set $o (i32.add (local.get $o) (local.get $down)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $each_row))))
)
