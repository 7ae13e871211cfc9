import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { executeNodes } from './graph.js';
import { type LoadedModel } from './load.js';

export type LayerActivationFn = (x: tf.Tensor4D) => tf.Tensor;

const probes = new WeakMap<LoadedModel, Map<number, LayerActivationFn>>();

/**
 * A differentiable function from an input batch to one layer's output, for optimizing the
 * input (feature visualization). Layers models run a probe model cut at the layer; graph
 * models run `GraphModel.execute` up to the node. Either way tf.grad flows back to `x`.
 * The function is cached per model and layer; the caller disposes what it returns.
 */
export function layerActivationFn(loaded: LoadedModel, layerIndex: number): LayerActivationFn {
  const info = loaded.graph.layers[layerIndex];
  if (!info) throw new UsageError(`layer ${layerIndex} out of range: model has ${loaded.graph.layers.length} layers`);
  let cache = probes.get(loaded);
  if (!cache) probes.set(loaded, (cache = new Map()));
  const cached = cache.get(layerIndex);
  if (cached) return cached;

  let fn: LayerActivationFn;
  const graphModel = loaded.graphModel;
  if (graphModel && info.node) {
    const node = info.node;
    fn = node === loaded.graph.layers[0].node ? (x) => x.clone() : (x) => executeNodes(graphModel, x, [node])[0];
  } else if (loaded.graph.inputs.some((t) => t.id === info.output.id)) {
    fn = (x) => x.clone();
  } else {
    const probe = tf.model({ inputs: loaded.graph.inputs, outputs: info.output });
    fn = (x) => probe.apply(x) as tf.Tensor;
  }
  cache.set(layerIndex, fn);
  return fn;
}
