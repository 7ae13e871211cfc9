import tf = require('@tensorflow/tfjs');
import { createProbe } from '../dream/probe.js';
import { type ReluGradient } from '../dream/overrides/guided.js';
import { type LoadedModel } from '../model/load.js';

/**
 * The forward passes attribution needs, all through the dream probe (dream/probe.ts: our own
 * executor over the flattened graph for layers, nested and Keras models; `execute` for graph
 * models), so every model kind cnnviz loads works the same way and the user's model is left
 * as it was.
 */

/** One layer's activations and the gradient of each chosen class score with respect to them, from one pass. */
export interface LayerGradients {
  /** [h, w, c] of the layer. */
  shape: [number, number, number];
  /** The layer's activations for the image, h*w*c values, channels last. */
  activations: Float32Array;
  /** Every class score (pre-softmax) for the image. */
  scores: Float32Array;
  /** d score[classes[k]] / d activations, one array per asked class (empty when no class is asked). */
  gradients: Float32Array[];
}

/** A pass that reads layer `layer` and the class scores: `run(x, classes)` for one image x [1, h, w, c]. */
export function layerGradientPass(loaded: LoadedModel, layer: number) {
  const probe = createProbe(loaded, [{ layer }, { logits: true }]);
  const known = probe.shapes[0].every((d) => d > 0) ? probe.shapes[0] : undefined;
  // The probe's shapes are those at the model's own input size; another size (cam --input-scale native) is measured.
  const [inH, inW] = loaded.inputShape;
  const ownSize = (x: tf.Tensor4D) => x.shape[1] === inH && x.shape[2] === inW;
  return (x: tf.Tensor4D, classes: number[]): LayerGradients => {
    if (!classes.length) {
      const [a, s] = probe.apply(x);
      const out = { shape: a.shape.slice(1) as [number, number, number], activations: a.dataSync() as Float32Array, scores: s.dataSync() as Float32Array, gradients: [] };
      tf.dispose([a, s]);
      return out;
    }
    const k = classes.length;
    // The image once per class in one batch: each copy's score gets its own gradient.
    const batch = k > 1 ? tf.tile(x, [k, 1, 1, 1]) : x;
    const shape = (ownSize(x) ? known : undefined) ?? tf.tidy(() => probe.apply(x)[0].shape.slice(1));
    const delta = tf.zeros([k, ...shape]);
    const picked = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), probe.shapes[1][0]));
    let acts: tf.Tensor | undefined;
    let scores: tf.Tensor | undefined;
    // Gradients with respect to the layer's output: a zero added there, and the gradient taken in it.
    const grad = tf.grad((d: tf.Tensor) => {
      const [a, s] = probe.apply(batch, { tap: (i, t) => (i === 0 ? t.add(d) : t) });
      acts = tf.keep(a.slice([0], [1]));
      scores = tf.keep(s.slice([0], [1]));
      return s.mul(picked).sum();
    })(delta);
    const g = grad.dataSync() as Float32Array;
    const size = g.length / k;
    const out: LayerGradients = {
      shape: acts!.shape.slice(1) as [number, number, number],
      activations: acts!.dataSync() as Float32Array,
      scores: scores!.dataSync() as Float32Array,
      gradients: classes.map((_, j) => g.slice(j * size, (j + 1) * size)),
    };
    tf.dispose([grad, delta, picked, acts!, scores!]);
    if (batch !== x) batch.dispose();
    return out;
  };
}

/** Class scores [B, classes] of a batch of images (no gradient). */
export function scorePass(loaded: LoadedModel) {
  const probe = createProbe(loaded, [{ logits: true }]);
  return (x: tf.Tensor4D): tf.Tensor2D => probe.apply(x)[0] as tf.Tensor2D;
}

/**
 * The gradient of one class's score with respect to the input, for each image of a batch
 * x [B, h, w, c] (the scores of the images don't mix), with the ReLU gradient `relu`
 * ('guided' for guided backprop). Returns the gradients [B, h, w, c] and the batch's scores
 * of that class [B]; the caller disposes both.
 */
export function inputGradientPass(loaded: LoadedModel, relu: ReluGradient = 'true') {
  const probe = createProbe(loaded, [{ logits: true }]);
  return (x: tf.Tensor4D, cls: number): { gradients: tf.Tensor4D; scores: tf.Tensor1D } => {
    let scores: tf.Tensor1D | undefined;
    const gradients = tf.grad((v: tf.Tensor) => {
      const s = probe.apply(v as tf.Tensor4D, { relu })[0];
      const picked = s.slice([0, cls], [-1, 1]).reshape([-1]) as tf.Tensor1D;
      scores = tf.keep(picked.clone());
      return picked.sum();
    })(x) as tf.Tensor4D;
    return { gradients, scores: scores! };
  };
}
