import tf = require('@tensorflow/tfjs');
import { readText, type Objective, type ObjectiveEnv, type Read } from './objective.js';

/**
 * Lucid's caricature (feature inversion, `dot_compare`): the dot product of the picture's
 * activations at a layer with a photo's, per position, so the dream exaggerates what the
 * layer sees in the photo. Lucid feeds the photo through the same transforms in the same
 * batch; here its activations are computed once and resized to whatever grid the
 * transformed picture makes, which differs by the transforms' few pixels of jitter.
 * `cossimPow` > 0 multiplies by cos^p, favouring the photo's direction over sheer size.
 */
export function caricature(read: Read, env: ObjectiveEnv, photo: tf.Tensor4D, cossimPow = 0): Objective {
  const target = tf.keep(env.activations(photo, read));
  return {
    reads: [read],
    text: `caricature(${readText(read)}${cossimPow ? `, cossim=${cossimPow}` : ''})`,
    evaluate: ({ read: get }) =>
      tf.tidy(() => {
        const out = get(read);
        const B = out.shape[0];
        const ref = out.rank === 4 && target.rank === 4 ? tf.image.resizeBilinear(target as tf.Tensor4D, [out.shape[1] as number, out.shape[2] as number]) : target;
        const a = out.reshape([B, -1]);
        const r = ref.reshape([1, -1]);
        const dot = a.mul(r).sum(1).div(a.shape[1] as number);
        if (!cossimPow) return dot as tf.Tensor1D;
        const cos = a.mul(r).sum(1).div(a.norm('euclidean', 1).mul(r.norm()).add(1e-8)).relu();
        return dot.mul(cos.pow(cossimPow)) as tf.Tensor1D;
      }),
    dispose: () => target.dispose(),
  };
}
