import tf = require('@tensorflow/tfjs');
import { type LoadedModel } from './load.js';
import { layerActivations, type LayerActivation } from './probe.js';

type Sym = tf.SymbolicTensor;

/** Called with each requested layer's activation and its position in `indices`; awaited before the pass goes on. */
export type OnLayerActivation = (act: LayerActivation, position: number) => void | Promise<void>;

/**
 * The given layers' activations for one input, each handed to `onLayer` as soon as the forward
 * pass has computed it, instead of all of them at the end of one pass.
 *
 * Why: `activations --layer all` spends most of its time colouring and PNG-encoding hundreds of
 * grids, and PNG encoding runs on the thread pool. Handed over layer by layer, the first grids
 * are being encoded while the pass computes the later layers (on this thread), so a 2-core
 * machine keeps both cores busy instead of running the whole pass on one of them first.
 *
 * The layers are run as tfjs's own executor runs them for `predict` (each layer's `apply` on
 * its inputs' values, in topological order, without the training flag), only the ancestors of
 * what is asked are computed, and every intermediate tensor is disposed once its last consumer
 * has run. Image models carry no masks, so masks are not propagated. Graph models run in one
 * `GraphModel.execute` call (one per node would redo the graph), and the activations are then
 * handed over in order.
 *
 * Each activation's values are the caller's own (another thread may take them over).
 * Returns the model's final output when `withFinal` (the caller disposes it).
 */
export async function forEachLayerActivation(loaded: LoadedModel, input: tf.Tensor4D, indices: number[], withFinal: boolean, onLayer: OnLayerActivation): Promise<tf.Tensor | undefined> {
  if (loaded.graphModel) {
    const { layers, final } = layerActivations(loaded, input, indices);
    try {
      for (const [j, act] of layers.entries()) await onLayer(act, j);
    } catch (err) {
      final?.dispose();
      throw err;
    }
    return final;
  }

  const { graph } = loaded;
  const finalSym = withFinal ? graph.outputs[0] : undefined;
  const requested = new Map<number, number[]>();
  indices.forEach((i, j) => {
    const id = graph.layers[i].output.id;
    requested.set(id, [...(requested.get(id) ?? []), j]);
  });
  const isInput = (s: Sym) => graph.inputs.some((t) => t.id === s.id);
  const order = topologicalOrder([...indices.map((i) => graph.layers[i].output), ...(finalSym ? [finalSym] : [])], isInput);

  // How many computed tensors still need each value: it is disposed when that reaches 0.
  const consumers = new Map<number, number>();
  for (const s of order) for (const x of s.inputs) consumers.set(x.id, (consumers.get(x.id) ?? 0) + 1);
  const values = new Map<number, tf.Tensor>();
  graph.inputs.forEach((s) => values.set(s.id, input));
  const release = (s: Sym) => {
    const t = values.get(s.id);
    if (!t || isInput(s) || s.id === finalSym?.id || (consumers.get(s.id) ?? 0) > 0) return;
    t.dispose();
    values.delete(s.id);
  };

  try {
    // The input layer's own "activation" is the input: handed over before any layer runs.
    for (const s of graph.inputs) await emit(s);
    for (const s of order) {
      if (!values.has(s.id)) {
        const args = s.inputs.map((x) => values.get(x.id)!);
        const outs = tf.tidy(() => s.sourceLayer.apply(args) as tf.Tensor | tf.Tensor[]);
        const produced = s.sourceLayer.inboundNodes[s.nodeIndex].outputTensors;
        (Array.isArray(outs) ? outs : [outs]).forEach((t, k) => values.set(produced[k].id, t));
      }
      // (A multi-output layer's other outputs came with its first: each still counts as one consumer of the inputs.)
      for (const x of s.inputs) {
        consumers.set(x.id, consumers.get(x.id)! - 1);
        release(x);
      }
      await emit(s);
      release(s);
    }
    if (!finalSym) return undefined;
    if (isInput(finalSym)) return input.clone();
    const final = values.get(finalSym.id)!;
    values.delete(finalSym.id);
    return final;
  } finally {
    for (const [id, t] of values) if (!graph.inputs.some((s) => s.id === id)) t.dispose();
  }

  async function emit(s: Sym): Promise<void> {
    const positions = requested.get(s.id);
    if (!positions) return;
    requested.delete(s.id);
    const t = values.get(s.id)!;
    const shape = t.shape.slice(1);
    // The values handed over are the caller's own, free to transfer to another thread: wasm's
    // read-back is a fresh copy, but the cpu and native backends may hand out their storage of a
    // tensor that later layers still read.
    const read = t.dataSync() as Float32Array;
    const data = tf.getBackend() === 'wasm' ? read : read.slice();
    for (const j of positions) {
      const info = graph.layers[indices[j]];
      // Two names for one tensor each get their own copy, as from layerActivations.
      const own = j === positions[0] ? data : data.slice();
      await onLayer({ index: info.index, name: info.name, shape, maps: { values: own, shape } }, j);
    }
  }
}

/** The symbolic tensors `wanted` depends on (graph inputs excluded), each after its inputs, in the order `wanted` first needs them. */
function topologicalOrder(wanted: Sym[], isInput: (s: Sym) => boolean): Sym[] {
  const order: Sym[] = [];
  const seen = new Set<number>();
  for (const root of wanted) {
    // Iterative depth-first post-order: Inception-sized graphs are deep enough to matter for recursion.
    const stack: Array<[Sym, number]> = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [s, next] = top;
      if (seen.has(s.id) || isInput(s)) {
        stack.pop();
        continue;
      }
      if (next < s.inputs.length) {
        top[1]++;
        stack.push([s.inputs[next], 0]);
        continue;
      }
      stack.pop();
      seen.add(s.id);
      order.push(s);
    }
  }
  return order;
}
