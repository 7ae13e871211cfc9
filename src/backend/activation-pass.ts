import tf = require('@tensorflow/tfjs');
import { hasPassKernel } from './band-pass.js';
import { registerOnce, type CpuData, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * CnnvizActivationGrad: the gradient of leaky relu, elu or sigmoid read off the activation's
 * output y in one pass over dy and y, for activations fused into the convolution before them
 * (dream/overrides/conv-activation.ts), whose input is never stored. The same numbers as
 * tfjs's own gradients:
 *  - leaky relu (alpha >= 0): dy where y > 0, else alpha dy. y > 0 exactly where x > 0, so an
 *    input exactly 0 gets alpha, as tfjs's where(x > 0, dy, alpha dy);
 *  - elu: dy where y >= 0, else dy (y + 1), tfjs's EluGrad;
 *  - sigmoid: dy (y (1 - y)), tfjs's sigmoid gradient.
 * On wasm one SIMD pass of ours (simd/kernels.wat); on cpu, and where that cannot load, the
 * loop below; other backends (webgl, tfjs-node) use tf ops.
 */
export const ACTIVATION_GRAD = 'CnnvizActivationGrad';

/** Activations whose gradient this pass reads off the output, by the kernel's code. */
export const OUTPUT_GRADIENT_KINDS = { leakyrelu: 0, elu: 1, sigmoid: 2 } as const;
export type OutputGradientKind = keyof typeof OUTPUT_GRADIENT_KINDS;

interface Attrs {
  kind: number;
  alpha: number;
}

/**
 * The same numbers as tfjs's: sigmoid's float32 ops round every product (fround), cpu's EluGrad
 * rounds dy (y + 1) once (wasm's rounds y + 1 too: one ulp apart at most).
 */
function loop(out: Float32Array, dy: Float32Array, y: Float32Array, { kind, alpha }: Attrs): void {
  const f = Math.fround;
  const a = f(alpha);
  for (let i = 0; i < out.length; i++) {
    const v = y[i];
    const g = dy[i];
    out[i] = kind === 0 ? (v > 0 ? g : g * a) : kind === 1 ? (v >= 0 ? g : g * (v + 1)) : g * f(v * f(1 - v));
  }
}

type Args = KernelArgs<{ dy: tf.TensorInfo; y: tf.TensorInfo }>;

registerOnce(ACTIVATION_GRAD, {
  // In place on wasm's heap; the output is allocated before any view is made (allocating can
  // grow the heap and detach views).
  wasm: (a: Args) => {
    const b = a.backend as WasmHeap;
    const { dy, y } = a.inputs;
    const attrs = a.attrs as unknown as Attrs;
    const out = b.makeOutput(dy.shape, 'float32');
    const simd = simdKernels(b);
    if (simd) simd.activation_grad(heapOffset(b, out), heapOffset(b, dy), heapOffset(b, y), tf.util.sizeFromShape(dy.shape), attrs.kind, attrs.alpha);
    else {
      const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
      loop(view(out), view(dy), view(y), attrs);
    }
    return out;
  },
  cpu: (a: Args) => {
    const b = a.backend as CpuData;
    const { dy, y } = a.inputs;
    const out = new Float32Array(tf.util.sizeFromShape(dy.shape));
    const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as Float32Array;
    loop(out, read(dy), read(y), a.attrs as unknown as Attrs);
    return b.makeTensorInfo(dy.shape, 'float32', out);
  },
});

/** The gradient of activation `kind` (leaky relu with slope `alpha`) at output `y`, given dy. */
export function activationGradFromOutput(dy: tf.Tensor, y: tf.Tensor, kind: OutputGradientKind, alpha = 0): tf.Tensor {
  if (hasPassKernel(ACTIVATION_GRAD, dy, y)) {
    return tf.engine().runKernel(ACTIVATION_GRAD, { dy, y }, { kind: OUTPUT_GRADIENT_KINDS[kind], alpha } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => {
    if (kind === 'sigmoid') return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
    if (kind === 'leakyrelu') return tf.where(tf.greater(y, 0), dy, tf.mul(dy, alpha));
    return tf.where(tf.greaterEqual(y, 0), dy, tf.mul(dy, tf.add(y, 1)));
  });
}
