import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { createRng, subSeed } from '../dream/random.js';
import { buildQuietly, fromLayersModel } from '../model/loaded.js';
import { type LoadedModel } from '../model/load.js';

/**
 * Adebayo et al.'s cascading randomization ("Sanity Checks for Saliency Maps", NeurIPS 2018)
 * on a copy of the model: its layers with weights, from the top (nearest the output) down,
 * re-initialized one after the other, cumulatively. The user's model is never touched: the
 * copy is built from the model's config and starts with the same weight values.
 *
 * What is re-initialized is what the paper's code re-initializes: a layer's trainable
 * variables (its parameters: kernels, biases, a batch norm's γ and β), whatever the layer's
 * current `trainable` flag (a frozen transfer-learning base counts too). Statistics gathered
 * from data rather than learned by gradient (a batch norm's moving mean and variance, a
 * Normalization layer's mean and variance) keep their trained values; a layer that has only
 * statistics is not a step.
 *
 * New values, as a freshly built Keras layer of that shape would start: every parameter of
 * rank 2 or more (kernels, depthwise kernels, dense matrices) from a truncated normal (cut at
 * 2σ, as Keras's truncated initializers) with Glorot's scale σ = sqrt(2 / (fan_in +
 * fan_out)), seeded per layer and weight so a layer's draw doesn't depend on which steps were
 * taken; every vector parameter to its Keras default: γ 1, biases and β 0. So a batch norm's
 * step leaves it standardizing with the trained statistics.
 */

/** A layer of the cascade: an index into `graph.layers` (the same in the original and the copy). */
export interface CascadeLayer {
  index: number;
  name: string;
  className: string;
}

export interface Cascade {
  /** The copy the explainers run on: the original's architecture and meta, weights of its own. */
  model: LoadedModel;
  /** Every layer with parameters, top first: step k re-initializes the first k. */
  layers: CascadeLayer[];
  /** How many of `layers` are re-initialized now. */
  readonly step: number;
  /** Re-initialize the top k layers (those already re-initialized keep their draw) and give the rest the original's weights. */
  randomizeTop(k: number): void;
  /** Free the copy's weights. */
  dispose(): void;
}

/** Keras's fans of a kernel: [in, out] or [..receptive field, in, out]. */
function fans(shape: number[]): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  const field = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * field, shape[shape.length - 1] * field];
}

/** Normal(0, σ) draws redrawn until within 2σ, as tf.truncatedNormal. */
function truncatedNormal(count: number, sigma: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; ) {
    const batch = rng.normal(Math.min(1024, 2 * (count - i)), 0, 1);
    for (const z of batch) if (Math.abs(z) <= 2 && i < count) out[i++] = z * sigma;
  }
  return out;
}

/** Fresh values for one parameter of a layer (see the module comment). */
export function reinitializedWeight(name: string, shape: number[], seed: number): tf.Tensor {
  if (shape.length >= 2) {
    const [fanIn, fanOut] = fans(shape);
    return tf.tensor(truncatedNormal(shape.reduce((a, b) => a * b, 1), Math.sqrt(2 / Math.max(1, fanIn + fanOut)), seed), shape);
  }
  return /gamma(:\d+)?$/.test(name) ? tf.ones(shape) : tf.zeros(shape);
}

type Variable = tf.layers.Layer['weights'][number];

/**
 * A layer's parameters: the weights it created as trainable. tfjs keeps that list apart from
 * the current `trainable` flag, which freezing a layer clears on the weights themselves.
 */
export function parametersOf(layer: tf.layers.Layer): Set<Variable> {
  const built = (layer as unknown as { _trainableWeights?: Variable[] })._trainableWeights;
  return new Set(built ?? layer.trainableWeights);
}

/** The layers of `loaded` that have parameters, top first, each layer object once (a shared layer counts once). */
export function weightedLayers(loaded: LoadedModel): CascadeLayer[] {
  const seen = new Set<tf.layers.Layer>();
  const out: CascadeLayer[] = [];
  for (const info of [...loaded.graph.layers].reverse()) {
    if (!parametersOf(info.layer).size || seen.has(info.layer)) continue;
    seen.add(info.layer);
    out.push({ index: info.index, name: info.name, className: info.className });
  }
  return out;
}

/** A copy of a layers model: built from its config, given the same weight values (shared, immutable buffers). */
async function copyModel(loaded: LoadedModel): Promise<LoadedModel> {
  const topology = loaded.model.toJSON(undefined, false) as unknown as tf.io.ModelJSON['modelTopology'];
  const copy = await buildQuietly(`cannot copy the model ${loaded.source}`, () => tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON));
  copy.setWeights(loaded.model.getWeights());
  return fromLayersModel(copy, loaded.source, loaded.meta);
}

/** Refuse what the cascade cannot randomize: a graph model's weights are constants inside its graph. */
export function checkCascadable(loaded: LoadedModel): void {
  if (loaded.graphModel) {
    throw new UsageError(`${loaded.source} is a TF.js graph model, whose weights are constants baked into the graph: sanity needs per-layer weights (give the layers model or the Keras .h5/.keras file)`);
  }
  if (!weightedLayers(loaded).length) throw new UsageError(`${loaded.source} has no layer with trainable weights: nothing to randomize`);
}

/** The cascade over a copy of `loaded`, at step 0 (the copy equals the original). */
export async function createCascade(loaded: LoadedModel, seed = 0): Promise<Cascade> {
  checkCascadable(loaded);
  const model = await copyModel(loaded);
  const layers = weightedLayers(loaded);
  const original = layers.map((l) => loaded.graph.layers[l.index].layer);
  const copied = layers.map((l) => model.graph.layers[l.index].layer);
  for (let i = 0; i < layers.length; i++) {
    if (copied[i].name !== original[i].name) throw new Error(`cascade: the copy's layer ${layers[i].index} is ${copied[i].name}, not ${original[i].name}`);
  }
  const randomized = layers.map(() => false);
  let step = 0;
  return {
    model,
    layers,
    get step() {
      return step;
    },
    randomizeTop(k: number) {
      if (!Number.isInteger(k) || k < 0 || k > layers.length) throw new UsageError(`step ${k} out of range: the model has ${layers.length} layers with weights (0-${layers.length})`);
      layers.forEach((_, i) => {
        const want = i < k;
        if (want === randomized[i]) return;
        if (want) {
          const params = parametersOf(copied[i]);
          const trained = original[i].getWeights();
          const fresh = copied[i].weights.map((w, j) => (params.has(w) ? reinitializedWeight(w.originalName ?? w.name, w.shape as number[], subSeed(seed, i, j)) : undefined));
          copied[i].setWeights(fresh.map((t, j) => t ?? trained[j]));
          tf.dispose(fresh.filter((t): t is tf.Tensor => t !== undefined));
        } else {
          copied[i].setWeights(original[i].getWeights());
        }
        randomized[i] = want;
      });
      step = k;
    },
    dispose() {
      model.model.dispose();
    },
  };
}
