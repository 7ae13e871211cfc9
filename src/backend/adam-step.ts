import tf = require('@tensorflow/tfjs');
import { registerOnce, type CpuData, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * One Adam update of a tensor as a single kernel: tfjs's AdamOptimizer spends 13 tensor ops
 * (13 passes over the tensor, each a kernel dispatch) per variable per step, ~3 ms of a
 * batch-8 dream step on wasm. The kernel does the same float32 operations in the same order,
 * so its bytes are tfjs's:
 *   m' = m b1 + g c1,  v' = v b2 + (g g) c2,  x' = ((m' / d1) / (sqrt(v' / d2) + eps)) nlr + x
 * with c = 1 - b, d = 1 - b^t and nlr = -lr, each a float32 as tfjs's scalar tensors hold it.
 * CnnvizAdamStep {x, g, m, v}, attrs AdamConstants -> [x', m', v'].
 */
export const ADAM_STEP = 'CnnvizAdamStep';

export interface AdamConstants {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  d1: number;
  d2: number;
  eps: number;
  nlr: number;
}

const f = Math.fround;

/**
 * The update in JavaScript: every operation rounded to float32 (one +, -, *, / or sqrt of
 * float32 values computed in double and rounded once is the float32 result).
 */
export function adamLoop(xo: Float32Array, mo: Float32Array, vo: Float32Array, x: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamConstants): void {
  for (let i = 0; i < x.length; i++) {
    const gi = g[i];
    const m2 = f(f(m[i] * k.b1) + f(gi * k.c1));
    const v2 = f(f(v[i] * k.b2) + f(f(gi * gi) * k.c2));
    const step = f(f(m2 / k.d1) / f(f(Math.sqrt(f(v2 / k.d2))) + k.eps));
    xo[i] = f(step * k.nlr) + x[i];
    mo[i] = m2;
    vo[i] = v2;
  }
}

type Args = KernelArgs<{ x: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo }>;

registerOnce(ADAM_STEP, {
  wasm: (a: Args) => {
    const b = a.backend as WasmHeap;
    const { x, g, m, v } = a.inputs;
    const k = a.attrs as unknown as AdamConstants;
    // Outputs first: allocating can grow the heap and detach views made before.
    const outs = [0, 1, 2].map(() => b.makeOutput(x.shape, 'float32'));
    const simd = simdKernels(b);
    if (simd) {
      const at = (t: tf.TensorInfo) => heapOffset(b, t);
      simd.adam_step(at(outs[0]), at(outs[1]), at(outs[2]), at(x), at(g), at(m), at(v), tf.util.sizeFromShape(x.shape), k.b1, k.c1, k.b2, k.c2, k.d1, k.d2, k.eps, k.nlr);
    } else {
      const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
      adamLoop(view(outs[0]), view(outs[1]), view(outs[2]), view(x), view(g), view(m), view(v), k);
    }
    return outs;
  },
  cpu: (a: Args) => {
    const b = a.backend as CpuData;
    const { x, g, m, v } = a.inputs;
    const n = tf.util.sizeFromShape(x.shape);
    const outs = [0, 1, 2].map(() => new Float32Array(n));
    const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as Float32Array;
    adamLoop(outs[0], outs[1], outs[2], read(x), read(g), read(m), read(v), a.attrs as unknown as AdamConstants);
    return outs.map((o) => b.makeTensorInfo(x.shape, 'float32', o));
  },
});

/**
 * [x', m', v'] for float32 tensors of one shape: the kernel where there is one, else the tf
 * ops tfjs's AdamOptimizer runs (webgl, tfjs-node).
 */
export function adamStep(x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, k: AdamConstants): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const same = [g, m, v].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, x.shape)) && x.dtype === 'float32';
  if (same && tf.getKernel(ADAM_STEP, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(ADAM_STEP, { x, g, m, v }, { ...k } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
  }
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, k.b1), tf.mul(g, k.c1));
    const v2 = tf.add(tf.mul(v, k.b2), tf.mul(tf.square(g), k.c2));
    const x2 = tf.add(tf.mul(tf.div(tf.div(m2, k.d1), tf.add(tf.sqrt(tf.div(v2, k.d2)), k.eps)), k.nlr), x);
    return [x2, m2, v2];
  });
}
