import tf = require('@tensorflow/tfjs');
import { RuntimeError } from '../errors.js';
import { type InputRange } from '../model/meta.js';
import { augmentBatch, imagesToTensor, labelsToTensor, type AugmentOptions } from './augment.js';
import { type ImageSet } from './dataset.js';
import { createRng, shuffleInPlace, type Rng } from './random.js';

/**
 * Where batches come from: decoded images (augmented on the fly when training), or feature
 * vectors a frozen backbone computed once. `inputs` makes a new tensor the caller disposes.
 */
export interface Feeder {
  count: number;
  inputs(indices: number[], rng?: Rng): tf.Tensor;
  labels(indices: number[]): tf.Tensor2D;
}

/** Decoded images scaled to `range`; training batches (given an rng) are augmented. */
export function imageFeeder(set: ImageSet, classes: number, range: InputRange, augment: AugmentOptions | false = false): Feeder {
  return {
    count: set.count,
    inputs: (idx, rng) => {
      const x = imagesToTensor(set, idx, range);
      if (!rng || !augment) return x;
      const out = augmentBatch(x, rng, range, augment);
      x.dispose();
      return out;
    },
    labels: (idx) => labelsToTensor(set, idx, classes),
  };
}

/** One optimizer step on a batch: [mean loss, mean accuracy]. */
export type TrainStep = (x: tf.Tensor, y: tf.Tensor2D) => Promise<[number, number]>;

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Epochs without a better val loss before training stops; the learning rate halves at half of it. */
  patience: number;
  seed: number;
  inputRange: InputRange;
  /** Stop before an epoch that would end after this many seconds (0: no limit). */
  timeLimitSeconds: number;
  augment: AugmentOptions | false;
  /** Epoch numbers start after this many (a second phase continues the first one's count). */
  firstEpoch?: number;
  /** The best epoch of an earlier phase: this phase must beat its val loss to count as better. */
  bestSoFar?: EpochRecord;
  /** Written into each record: which phase of a transfer run it belongs to. */
  phase?: 'head' | 'fine-tune';
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  phase?: 'head' | 'fine-tune';
}

export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export type StopReason = 'epochs' | 'early-stopping' | 'time-limit' | 'interrupted';

export interface LoopEvents {
  onBatch?(info: BatchInfo): void;
  /** After each epoch's validation; `improved` means these are now the best weights (and the model holds them). */
  onEpoch?(record: EpochRecord, improved: boolean): void | Promise<void>;
  /** Polled after every batch: Ctrl-C sets it. */
  shouldStop?(): boolean;
}

export interface LoopResult {
  history: EpochRecord[];
  /** The epoch whose weights the model holds at the end (the lowest val loss). */
  best: EpochRecord;
  stoppedBy: StopReason;
  seconds: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
}

/** Per-example loss and correctness [n] of predictions p for targets y (sigmoid head for 2 classes). */
export function lossAndHits(y: tf.Tensor2D, p: tf.Tensor2D, classes: number): [tf.Tensor1D, tf.Tensor1D] {
  const losses = classes === 2 ? tf.metrics.binaryCrossentropy(y, p) : tf.metrics.categoricalCrossentropy(y, p);
  const right = classes === 2 ? tf.metrics.binaryAccuracy(y, p) : tf.metrics.categoricalAccuracy(y, p);
  return [losses.reshape([-1]) as tf.Tensor1D, right.reshape([-1]) as tf.Tensor1D];
}

/**
 * Mean loss and accuracy of the model over a whole set, in inference mode. Undefined when
 * `shouldStop` said to stop part way (Ctrl-C during a long validation).
 */
export async function evaluate(model: tf.LayersModel, set: ImageSet, classes: number, range: InputRange, batchSize = 64, shouldStop?: () => boolean): Promise<Evaluation | undefined> {
  return evaluateFeeder(model, imageFeeder(set, classes, range), classes, batchSize, shouldStop);
}

export async function evaluateFeeder(model: tf.LayersModel, feeder: Feeder, classes: number, batchSize = 64, shouldStop?: () => boolean): Promise<Evaluation | undefined> {
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < feeder.count; start += batchSize) {
    await yieldToEventLoop();
    if (shouldStop?.()) return undefined;
    const idx = Array.from({ length: Math.min(batchSize, feeder.count - start) }, (_, j) => start + j);
    const [l, c] = tf.tidy(() => {
      const p = model.predict(feeder.inputs(idx)) as tf.Tensor2D;
      const [losses, right] = lossAndHits(feeder.labels(idx), p, classes);
      return [losses.sum().dataSync()[0], right.sum().dataSync()[0]];
    });
    loss += l;
    correct += c;
  }
  return { loss: loss / feeder.count, accuracy: correct / feeder.count };
}

/**
 * Adam with early stopping on val loss: the best weights are kept (copied aside) and put back at
 * the end, whatever stopped training. All shuffling and augmentation come from one seeded Rng.
 */
export async function trainLoop(model: tf.LayersModel, train: ImageSet, val: ImageSet, classes: number, opts: LoopOptions, events: LoopEvents = {}): Promise<LoopResult> {
  const optimizer = tf.train.adam(opts.lr);
  model.compile({ optimizer, loss: classes === 2 ? 'binaryCrossentropy' : 'categoricalCrossentropy', metrics: ['accuracy'] });
  const step: TrainStep = async (x, y) => (await model.trainOnBatch(x, y)) as [number, number];
  return fitLoop(model, optimizer, step, imageFeeder(train, classes, opts.inputRange, opts.augment), imageFeeder(val, classes, opts.inputRange), classes, opts, events);
}

/**
 * The loop behind trainLoop, for any feeder and step: transfer learning runs it on cached
 * features (head phase) and with its own inference-mode step (fine-tune phase).
 */
export async function fitLoop(model: tf.LayersModel, optimizer: tf.AdamOptimizer, step: TrainStep, train: Feeder, val: Feeder, classes: number, opts: LoopOptions, events: LoopEvents = {}): Promise<LoopResult> {
  const rng = createRng(opts.seed ^ 0x5eed);
  const order = Array.from({ length: train.count }, (_, i) => i);
  const history: EpochRecord[] = [];
  let best: EpochRecord | undefined = opts.bestSoFar;
  // A later phase that never beats the earlier one ends with the earlier one's weights.
  let bestWeights: tf.Tensor[] | undefined = best ? model.getWeights().map((w) => w.clone()) : undefined;
  let sinceBest = 0;
  let lr = opts.lr;
  let stoppedBy: StopReason = 'epochs';
  const t0 = Date.now();
  const lrPatience = Math.max(1, Math.floor(opts.patience / 2));

  const first = opts.firstEpoch ?? 0;
  for (let epoch = first + 1; epoch <= first + opts.epochs; epoch++) {
    const e0 = Date.now();
    shuffleInPlace(order, rng);
    // A last batch of one image would give batch norm a zero variance: fold it away.
    const batches = Math.max(1, Math.floor(train.count / opts.batchSize) + (train.count % opts.batchSize > 1 ? 1 : 0));
    let seen = 0;
    let lossSum = 0;
    let rightSum = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize);
      const x = train.inputs(idx, rng);
      const y = train.labels(idx);
      const [loss, acc] = await step(x, y);
      tf.dispose([x, y]);
      if (!Number.isFinite(loss)) {
        tf.dispose(bestWeights ?? []);
        optimizer.dispose();
        throw new RuntimeError(`training diverged: the loss became ${loss} in epoch ${epoch}, batch ${b + 1}; try a lower --lr than ${lr}`);
      }
      seen += idx.length;
      lossSum += loss * idx.length;
      rightSum += acc * idx.length;
      const info = { epoch, batch: b + 1, batches, loss: lossSum / seen, accuracy: rightSum / seen, imagesPerSecond: seen / ((Date.now() - e0) / 1000) };
      events.onBatch?.(info);
      // Batches are synchronous tensor work: without this, Ctrl-C would wait for the whole epoch.
      await yieldToEventLoop();
      if (events.shouldStop?.()) {
        stoppedBy = 'interrupted';
        break;
      }
    }
    if (stoppedBy === 'interrupted' && best) break;
    // Once there is a best model to save, Ctrl-C need not wait for this validation either.
    const v = await evaluateFeeder(model, val, classes, 64, best ? events.shouldStop : undefined);
    if (!v) {
      stoppedBy = 'interrupted';
      break;
    }
    const seconds = (Date.now() - e0) / 1000;
    const record: EpochRecord = { epoch, loss: lossSum / seen, accuracy: rightSum / seen, valLoss: v.loss, valAccuracy: v.accuracy, lr, seconds, imagesPerSecond: seen / seconds, ...(opts.phase ? { phase: opts.phase } : {}) };
    history.push(record);
    const improved = !best || record.valLoss < best.valLoss - 1e-4;
    if (improved) {
      best = record;
      tf.dispose(bestWeights ?? []);
      bestWeights = model.getWeights().map((w) => w.clone());
      sinceBest = 0;
    } else {
      sinceBest++;
    }
    await events.onEpoch?.(record, improved);
    if (stoppedBy === 'interrupted') break;
    if (sinceBest >= opts.patience) {
      stoppedBy = 'early-stopping';
      break;
    }
    if (sinceBest > 0 && sinceBest % lrPatience === 0) lr = setLearningRate(optimizer, lr / 2);
    const elapsed = (Date.now() - t0) / 1000;
    if (opts.timeLimitSeconds > 0 && epoch < first + opts.epochs && elapsed + seconds > opts.timeLimitSeconds) {
      stoppedBy = 'time-limit';
      break;
    }
  }
  model.setWeights(bestWeights!);
  tf.dispose(bestWeights!);
  optimizer.dispose();
  return { history, best: best!, stoppedBy, seconds: (Date.now() - t0) / 1000 };
}

/** Adam reads its rate on every step; tfjs just doesn't expose a setter for it. */
function setLearningRate(optimizer: tf.AdamOptimizer, lr: number): number {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
  return lr;
}

/** Let signal handlers and timers (the progress bar's redraw) run between synchronous steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
