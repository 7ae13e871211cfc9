import tf = require('@tensorflow/tfjs');
import { registerOnce, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * The spectral image's last step, from colour planes to the network's pixels: planes
 * [B, 3, h, w] (as the inverse FFT makes them) divided by `divisor`, laid out as pixels
 * [B, h, w, 3] and mixed by a 3x3 colour matrix (Lucid's decorrelation): pixel = x · mix.
 * As tf ops that is a transpose, a division and a matrix product forward and three more
 * passes back, ~2.5 ms of a batch-8 dream step at 128 px on wasm; there it is one SIMD pass
 * each way (simd/kernels.wat) that does the same float32 operations in the same order as
 * those ops, so the same bytes. Elsewhere it is those tf ops.
 *  - CnnvizMixPlanes {planes [B, 3, n], mix [3, 3]}, attr divisor -> [B, n, 3]
 *  - CnnvizUnmixPlanes {dy [B, n, 3], mix}, attr divisor -> [B, 3, n]: the gradient.
 */
export const MIX_PLANES = 'CnnvizMixPlanes';
export const UNMIX_PLANES = 'CnnvizUnmixPlanes';

type Args = KernelArgs<{ planes?: tf.TensorInfo; dy?: tf.TensorInfo; mix: tf.TensorInfo }>;

function kernel(forward: boolean) {
  return (a: Args) => {
    const b = a.backend as WasmHeap;
    const x = (forward ? a.inputs.planes : a.inputs.dy)!;
    const [batch, d1, d2] = x.shape;
    const n = forward ? d2 : d1;
    const out = b.makeOutput(forward ? [batch, n, 3] : [batch, 3, n], 'float32');
    const { divisor } = a.attrs as unknown as { divisor: number };
    // mixPlanes only runs these where simdKernels loads.
    const simd = simdKernels(b)!;
    const run = forward ? simd.mix_planes3 : simd.unmix_planes3;
    run(heapOffset(b, out), heapOffset(b, x), batch, n, heapOffset(b, a.inputs.mix), divisor);
    return out;
  };
}

registerOnce(MIX_PLANES, { wasm: kernel(true) });
registerOnce(UNMIX_PLANES, { wasm: kernel(false) });

/** The tf ops the kernels stand for. */
function mixWithOps(planes: tf.Tensor4D, mix: tf.Tensor2D, divisor: number): tf.Tensor4D {
  const t = planes.transpose([0, 2, 3, 1]).div(divisor);
  return tf.matMul(t.reshape([-1, 3]), mix).reshape(t.shape) as tf.Tensor4D;
}

/** planes [B, 3, h, w] / divisor as pixels [B, h, w, 3], colour-mixed: pixel = x · mix. Differentiable in planes. */
export function mixPlanes(planes: tf.Tensor4D, mix: tf.Tensor2D, divisor: number): tf.Tensor4D {
  const [B, c, h, w] = planes.shape;
  const fused = c === 3 && planes.dtype === 'float32' && tf.getKernel(MIX_PLANES, tf.getBackend()) !== undefined && simdKernels(tf.backend()) !== null;
  if (!fused) return mixWithOps(planes, mix, divisor);
  const attrs = { divisor } as unknown as tf.NamedAttrMap;
  const op = tf.customGrad(((x: tf.Tensor4D) => {
    const value = tf.engine().runKernel(MIX_PLANES, { planes: tf.reshape(x, [B, 3, h * w]), mix }, attrs) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor | tf.Tensor[]) => {
      const d = tf.engine().runKernel(UNMIX_PLANES, { dy: tf.reshape(dy as tf.Tensor, [B, h * w, 3]), mix }, attrs) as tf.Tensor;
      return tf.reshape(d, [B, 3, h, w]);
    };
    return { value: tf.reshape(value, [B, h, w, 3]), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(planes) as tf.Tensor4D;
}
