import tf = require('@tensorflow/tfjs');
import { type InputRange } from '../model/meta.js';
import { type ImageSet } from './dataset.js';
import { type Rng, uniform } from './random.js';

/** How far augmentation may move an image; all of it is drawn from the seeded Rng. */
export interface AugmentOptions {
  /** Smallest crop side, as a fraction of the image side (the crop is then scaled back up). */
  minCrop: number;
  /** Aspect-ratio jitter of the crop: width/height within [1/aspect, aspect]. */
  aspect: number;
  /** Brightness shift, ± this fraction of full scale. */
  brightness: number;
  /** Contrast factor within [1 - contrast, 1 + contrast] about each image's mean. */
  contrast: number;
  flip: boolean;
}

export const DEFAULT_AUGMENT: AugmentOptions = { minCrop: 0.7, aspect: 1.2, brightness: 0.1, contrast: 0.2, flip: true };

/** Gather some images of a set into a [n, size, size, channels] float tensor scaled to `range`. */
export function imagesToTensor(set: ImageSet, indices: ArrayLike<number>, range: InputRange): tf.Tensor4D {
  const channels = set.channels ?? 3;
  const per = set.size * set.size * channels;
  const data = new Float32Array(indices.length * per);
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  for (let j = 0; j < indices.length; j++) {
    const src = set.pixels.subarray(indices[j] * per, (indices[j] + 1) * per);
    const base = j * per;
    for (let k = 0; k < per; k++) data[base + k] = src[k] * scale + lo;
  }
  return tf.tensor4d(data, [indices.length, set.size, set.size, channels]);
}

/** Targets in the form the loss wants: [n, 1] for a sigmoid head, one-hot [n, classes] otherwise. */
export function labelsToTensor(set: Pick<ImageSet, 'labels'>, indices: ArrayLike<number>, classes: number): tf.Tensor2D {
  const labels = Int32Array.from({ length: indices.length }, (_, j) => set.labels[indices[j]]);
  if (classes === 2) return tf.tensor2d(Float32Array.from(labels), [labels.length, 1]);
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as tf.Tensor2D);
}

/**
 * Random crop + scale, horizontal flip and brightness/contrast jitter for one batch, as a few
 * batched tensor ops. Crop, scale and flip are one `cropAndResize`: a box whose x1 > x2 samples
 * the crop mirrored. The batch must be in `range`; the result is too.
 */
export function augmentBatch(batch: tf.Tensor4D, rng: Rng, range: InputRange, opts: AugmentOptions = DEFAULT_AUGMENT): tf.Tensor4D {
  const [n, h, w] = batch.shape;
  const boxes = new Float32Array(n * 4);
  const gain = new Float32Array(n);
  const shift = new Float32Array(n);
  const [lo, hi] = range;
  for (let i = 0; i < n; i++) {
    const side = uniform(rng, opts.minCrop, 1);
    const ratio = Math.exp(uniform(rng, -Math.log(opts.aspect), Math.log(opts.aspect)));
    const bh = Math.min(1, side / Math.sqrt(ratio));
    const bw = Math.min(1, side * Math.sqrt(ratio));
    const y0 = uniform(rng, 0, 1 - bh);
    const x0 = uniform(rng, 0, 1 - bw);
    const mirrored = opts.flip && rng.next() < 0.5;
    boxes.set([y0, mirrored ? x0 + bw : x0, y0 + bh, mirrored ? x0 : x0 + bw], i * 4);
    gain[i] = uniform(rng, 1 - opts.contrast, 1 + opts.contrast);
    shift[i] = uniform(rng, -opts.brightness, opts.brightness) * (hi - lo);
  }
  return tf.tidy(() => {
    const cropped = tf.image.cropAndResize(batch, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [h, w], 'bilinear');
    const mean = cropped.mean([1, 2, 3], true);
    const g = tf.tensor4d(gain, [n, 1, 1, 1]);
    const s = tf.tensor4d(shift, [n, 1, 1, 1]);
    return cropped.sub(mean).mul(g).add(mean).add(s).clipByValue(lo, hi) as tf.Tensor4D;
  });
}
