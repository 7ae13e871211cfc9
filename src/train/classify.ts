import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type Fit } from '../image/io.js';
import { type LoadedModel } from '../model/load.js';
import { checkImageChannels, loadModelInput, topPredictions, type Prediction } from '../model/probe.js';
import { type Settled } from '../settle.js';

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

/** Misuse of the whole command, refused before the first image rather than once per image. */
function checkClassifier(loaded: LoadedModel): void {
  const out = loaded.graph.outputs[0].shape;
  if (out.length !== 2) {
    throw new UsageError(`model ${loaded.source} does not end in a classifier: its output has shape [${out.map((d) => d ?? '?').join(', ')}], predict needs [batch, classes]`);
  }
  checkImageChannels(loaded);
}

/**
 * Top-k classes for each image, resized exactly as training resized its validation images
 * (see src/train/dataset.ts), a batch of images per forward pass. Yields every image in order,
 * with its predictions or with the error that kept it from being read: a bad file costs only
 * its own result, never its batch's.
 */
export async function* classifyEach(loaded: LoadedModel, images: readonly string[], opts: ClassifyOptions): AsyncGenerator<Settled<Prediction[]>> {
  checkClassifier(loaded);
  const batchSize = opts.batchSize ?? 32;
  for (let start = 0; start < images.length; start += batchSize) {
    const names = images.slice(start, start + batchSize);
    const settled: Settled<Prediction[]>[] = [];
    const inputs: tf.Tensor[] = [];
    const rowOf: number[] = []; // settled index → row of the batch, for the readable images
    try {
      for (const image of names) {
        try {
          inputs.push((await loadModelInput(loaded, image, { fit: opts.fit, maxMegapixels: opts.maxMegapixels })).tensor);
          rowOf.push(settled.length);
          settled.push({ input: image, ok: true, value: [] });
        } catch (error) {
          settled.push({ input: image, ok: false, error });
        }
      }
      if (inputs.length > 0) {
        const scores = tf.tidy(() => loaded.model.predict(tf.concat(inputs)) as tf.Tensor2D);
        inputs.push(scores); // disposed with them below
        const rows = tf.unstack(scores);
        rowOf.forEach((i, row) => (settled[i] = { input: names[i], ok: true, value: topPredictions(rows[row], loaded.meta.labels, opts.top) }));
        tf.dispose(rows);
      }
    } finally {
      tf.dispose(inputs);
    }
    yield* settled;
  }
}

/** classifyEach for callers who want all or nothing: the first unreadable image throws. */
export async function classifyImages(loaded: LoadedModel, images: string[], opts: ClassifyOptions): Promise<Classified[]> {
  const all: Classified[] = [];
  for await (const s of classifyEach(loaded, images, opts)) {
    if (!s.ok) throw s.error;
    all.push({ image: s.input, predictions: s.value });
  }
  return all;
}
