import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { type Fit } from '../image/io.js';
import { type LoadedModel } from '../model/load.js';
import { loadModelInput, topPredictions, type Prediction } from '../model/probe.js';

export interface Classified {
  image: string;
  predictions: Prediction[];
}

export interface ClassifyOptions {
  top: number;
  fit?: Fit;
  /** Images per forward pass. */
  batchSize?: number;
  /** Largest image accepted, in megapixels (--max-pixels). */
  maxMegapixels?: number;
}

/**
 * Top-k classes for each image, resized exactly as training resized its validation images
 * (see src/train/dataset.ts), a batch of images per forward pass. `onBatch` sees results in order.
 */
export async function classifyImages(loaded: LoadedModel, images: string[], opts: ClassifyOptions, onBatch?: (results: Classified[]) => void): Promise<Classified[]> {
  const out = loaded.graph.outputs[0].shape;
  if (out.length !== 2) {
    throw new UsageError(`model ${loaded.source} does not end in a classifier: its output has shape [${out.map((d) => d ?? '?').join(', ')}], predict needs [batch, classes]`);
  }
  const batchSize = opts.batchSize ?? 32;
  const all: Classified[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const names = images.slice(start, start + batchSize);
    const inputs: tf.Tensor[] = [];
    try {
      for (const image of names) inputs.push((await loadModelInput(loaded, image, { fit: opts.fit, maxMegapixels: opts.maxMegapixels })).tensor);
      const scores = tf.tidy(() => loaded.model.predict(tf.concat(inputs)) as tf.Tensor2D);
      inputs.push(scores); // disposed with them below
      const rows = tf.unstack(scores);
      const results = names.map((image, i) => ({ image, predictions: topPredictions(rows[i], loaded.meta.labels, opts.top) }));
      tf.dispose(rows);
      all.push(...results);
      onBatch?.(results);
    } finally {
      tf.dispose(inputs);
    }
  }
  return all;
}
