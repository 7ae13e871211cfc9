import tf = require('@tensorflow/tfjs');

/**
 * The values of the tensor `compute` returns, with it and every intermediate disposed.
 *
 * Reading the values inside `tf.tidy` hands the typed array back through tidy, which walks
 * whatever it returns looking for tensors: element by element for a typed array, at about
 * 0.3 µs each. For a batch of 16 dream pictures at 128 px that was 0.3 s; at 224 px, 0.8 s.
 */
export function readBack(compute: () => tf.Tensor): Float32Array | Int32Array | Uint8Array {
  const t = tf.tidy(compute);
  try {
    return t.dataSync() as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}
