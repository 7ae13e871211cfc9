import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { executeNodes } from '../model/graph.js';
import { type LayerInfo } from '../model/layers.js';
import { type LoadedModel } from '../model/load.js';
import { logitsSource } from './logits.js';
import { type Read } from './objectives/objective.js';
import { affineBatchNorm, batchNormSpec, GRAPH_BATCH_NORM_GRADIENT } from './overrides/batch-norm.js';
import { activationLayer, asClamp, clampLayer, fusableConv, runChain, type ConvChain } from './overrides/fold.js';
import { GUIDED_GRADIENTS, overriddenActivation, type ReluGradient } from './overrides/guided.js';
import { REDIRECTED_GRADIENTS, type ClampActivation } from './overrides/redirect.js';
import { withGradients } from './overrides/scope.js';

/**
 * The network as a dream runs it: one forward pass from the picture to every tensor the
 * objectives read. Layers models run through our own executor over the flattened graph, which
 * runs each layer either as itself (its `call`, as tfjs's own executor does) or as an
 * override (overrides/): conv → batch norm → activation chains as one fused convolution,
 * other batch norms as their affine map, and, when the pass redirects, ReLU layers with
 * Lucid's redirected gradient. The user's model is never modified. Graph models run
 * `GraphModel.execute` once for every node read, with the redirected gradients registered for
 * that call only (overrides/scope.ts).
 */

export interface ProbeOptions {
  /** Lucid's redirected ReLU gradient (the first steps of an Adam dream), instead of the true one. */
  redirect?: boolean;
  /** The ReLU gradient of the pass: 'true', 'redirect' (the same as `redirect: true`) or 'guided' (guided backprop). */
  relu?: ReluGradient;
  /**
   * Called with each read's tensor as soon as the pass computes it; what it returns replaces
   * that tensor for the rest of the pass (and as the read). Adding a zero tensor there is how
   * a caller takes gradients with respect to an intermediate layer (attribution's Grad-CAM).
   */
  tap?: (read: number, value: tf.Tensor) => tf.Tensor;
}

/** The relu gradient a pass with `opts` uses. */
const reluMode = (opts: ProbeOptions): ReluGradient => opts.relu ?? (opts.redirect ? 'redirect' : 'true');

/** Kernel gradients registered for the duration of a pass in `mode` (layers run as themselves, graph models). */
const SCOPED_GRADIENTS: Record<ReluGradient, readonly tf.GradConfig[]> = { true: [], redirect: REDIRECTED_GRADIENTS, guided: GUIDED_GRADIENTS };

export interface Probe {
  /** What each read is, for messages: a layer name or "logits of <layer>". */
  names: string[];
  /** Each read's output shape without the batch axis, -1 where it depends on the input's size. */
  shapes: number[][];
  /** One line for the user about a read, where its dream needs explaining. */
  notes: (string | undefined)[];
  /** One tensor per read, [B, ...]; the caller disposes them. Differentiable in `x`. */
  apply(x: tf.Tensor4D, opts?: ProbeOptions): tf.Tensor[];
}

/** Layers that map their input linearly (when their own activation, if any, is linear). */
const LINEAR = /^(InputLayer|Conv1D|Conv2D|DepthwiseConv2D|SeparableConv2D|Conv2DTranspose|Dense|BatchNormalization|ZeroPadding2D|Cropping2D|AveragePooling2D|Rescaling|Normalization|Reshape|Flatten|Dropout|Permute)$/;

function isLinear(info: LayerInfo): boolean {
  return LINEAR.test(info.className) && (info.activation === undefined || info.activation === 'linear');
}

/** Is layer `index` linear in the picture: it and every layer listed before it are linear maps? */
export function linearInPicture(layers: readonly LayerInfo[], index: number): boolean {
  return layers.slice(0, index + 1).every(isLinear);
}

/** What one read takes from the forward pass: a layer's output (or a graph node's), and how it becomes the read. */
interface Source {
  layer?: number;
  node?: string;
  name: string;
  shape: number[];
  note?: string;
  finish?: (output: tf.Tensor, batch: number) => tf.Tensor;
}

function layerInfo(loaded: LoadedModel, index: number): LayerInfo {
  const layers = loaded.graph.layers;
  const info = Number.isInteger(index) ? layers[index] : undefined;
  if (!info) throw new UsageError(`layer ${index} out of range: model has ${layers.length} layers (0-${layers.length - 1})`);
  return info;
}

function sourceOf(loaded: LoadedModel, read: Read): Source {
  if ('logits' in read) {
    const logits = logitsSource(loaded);
    return { layer: logits.layer, node: logits.node, name: logits.name, shape: [logits.classes], finish: logits.scores };
  }
  const info = layerInfo(loaded, read.layer);
  const shape = info.outputShape.slice(1).map((d) => d ?? -1);
  const linear = !loaded.graphModel && info.index > 0 && info.outputShape.length === 4 && linearInPicture(loaded.graph.layers, info.index);
  const note = linear ? `layer ${info.index} ${info.name} is linear in the picture: an objective that averages it over positions peaks at a flat colour` : undefined;
  return loaded.graphModel ? { node: info.node, name: info.name, shape, note } : { layer: info.index, name: info.name, shape, note };
}

/** A forward pass from the input to the sources' raw outputs. */
type Forward = (x: tf.Tensor4D, relu: ReluGradient, tap?: ProbeOptions['tap']) => tf.Tensor[];

/**
 * The probe for `reads`: ONE forward pass up to the deepest read, whatever they share
 * computed once, and nothing fused across a layer being read.
 */
export function createProbe(loaded: LoadedModel, reads: Read[]): Probe {
  if (!reads.length) throw new Error('createProbe: no reads');
  const sources = reads.map((r) => sourceOf(loaded, r));
  const forward = loaded.graphModel ? graphForward(loaded, loaded.graphModel, sources) : layersForward(loaded, sources);
  return {
    names: sources.map((s) => s.name),
    shapes: sources.map((s) => s.shape),
    notes: sources.map((s) => s.note),
    apply: (x, opts = {}) =>
      tf.tidy(() => {
        const raw = forward(x, reluMode(opts), opts.tap);
        const seen = new Set<tf.Tensor>();
        return raw.map((t, i) => {
          const finish = sources[i].finish;
          const out = finish ? finish(t, x.shape[0]) : seen.has(t) ? t.clone() : t;
          seen.add(out);
          return out;
        });
      }),
  };
}

function graphForward(loaded: LoadedModel, graphModel: tf.GraphModel, sources: Source[]): Forward {
  const inputNode = loaded.graph.layers[0].node;
  const names = sources.map((s) => s.node!);
  const computed = [...new Set(names.filter((n) => n !== inputNode))];
  return (x, relu, tap) => {
    // The graph runs its own kernels: their gradients are ours for this call only.
    const gradients = [...SCOPED_GRADIENTS[relu], GRAPH_BATCH_NORM_GRADIENT];
    if (!tap) {
      const outs = computed.length ? withGradients(gradients, () => executeNodes(graphModel, x, computed)) : [];
      const byName = new Map(computed.map((n, i) => [n, outs[i]]));
      return names.map((n) => (n === inputNode ? x.clone() : byName.get(n)!));
    }
    // Tapped: the read nodes first, then the rest fed the tapped values (execute takes any node as an input).
    return withGradients(gradients, () => {
      const fed: tf.NamedTensorMap = { [inputNode!]: x };
      const firsts = [...new Set(names)];
      const early = firsts.filter((n) => n !== inputNode);
      const earlyOuts = early.length ? executeNodes(graphModel, x, early) : [];
      early.forEach((n, i) => (fed[n] = earlyOuts[i]));
      names.forEach((n, i) => (fed[n] = tap(i, fed[n])));
      return names.map((n) => fed[n]);
    });
  };
}

type Sym = tf.SymbolicTensor;
type Layer = tf.layers.Layer;
type Kwargs = Record<string, unknown>;

/** One call of a layer in the flattened graph: value slots in, value slots out. */
interface Node {
  layer: Layer;
  className: string;
  inputs: number[];
  /** Slot of each output that something reads, by output index. */
  outputs: number[];
  callArgs: Kwargs;
}

/** One step of the pass: reads and writes `values` (slot 0 is the input). */
type Step = (values: tf.Tensor[], relu: ReluGradient) => void;

/** The node that produced `sym`: the layer and the inputs it was called on. */
const nodeKey = (sym: Sym) => `${(sym.sourceLayer as Layer).id}:${sym.inputs.map((t) => t.id).join(',')}`;

/** `layer`'s own computation on concrete tensors, as tfjs's executor calls it. */
function callLayer(node: Node, inputs: tf.Tensor[]): tf.Tensor[] {
  const out = node.layer.call(inputs.length === 1 ? inputs[0] : inputs, { ...node.callArgs });
  return Array.isArray(out) ? out : [out];
}

/** A Dense layer's output before its activation. */
function denseLinear(layer: Layer, x: tf.Tensor): tf.Tensor {
  const [kernel, bias] = layer.getWeights();
  const units = kernel.shape[1] as number;
  const flat = x.rank === 2 ? x : x.reshape([-1, x.shape[x.rank - 1] as number]);
  let z: tf.Tensor = tf.matMul(flat as tf.Tensor2D, kernel as tf.Tensor2D);
  if (bias) z = tf.add(z, bias);
  return x.rank === 2 ? z : z.reshape([...x.shape.slice(0, -1), units]);
}

/** A node as itself, or as the override that computes the same numbers with the gradient a dream wants. */
function nodeStep(node: Node): Step {
  const [input] = node.inputs;
  const out = node.outputs[0];
  if (node.className === 'BatchNormalization' && node.inputs.length === 1) {
    const spec = batchNormSpec(node.layer);
    return (v) => void (v[out] = affineBatchNorm(spec, v[input]));
  }
  const clamp = clampLayer(node.layer);
  let overridden: ((x: tf.Tensor, relu: ReluGradient) => tf.Tensor) | undefined;
  if (clamp && node.inputs.length === 1) overridden = (x, relu) => overriddenActivation(x, clamp, relu);
  const dense = node.className === 'Dense' && node.inputs.length === 1 ? asClamp((node.layer.getConfig() as { activation?: string }).activation) : undefined;
  if (dense) overridden = (x, relu) => overriddenActivation(denseLinear(node.layer, x), dense, relu);
  return (v, relu) => {
    if (relu !== 'true' && overridden) {
      v[out] = overridden(v[input], relu);
      return;
    }
    const outs = callLayer(node, node.inputs.map((s) => v[s]));
    node.outputs.forEach((slot, j) => {
      if (slot !== undefined) v[slot] = outs[j];
    });
  };
}

function layersForward(loaded: LoadedModel, sources: Source[]): Forward {
  const inputIds = new Set(loaded.graph.inputs.map((t) => t.id));
  if (inputIds.size !== 1) throw new UsageError(`model has ${inputIds.size} inputs: dream optimizes one picture input`);
  // Every node the reads need, in an order where a node comes after its inputs.
  const nodes = new Map<string, Node>();
  const order: Node[] = [];
  let slots = 1;
  const visit = (sym: Sym): number => {
    if (inputIds.has(sym.id)) return 0;
    const key = nodeKey(sym);
    let node = nodes.get(key);
    if (!node) {
      const layer = sym.sourceLayer as Layer;
      if (layer.getClassName() === 'InputLayer') throw new Error(`${sym.name} is an input the model's input does not feed`);
      const inputs = sym.inputs.map(visit);
      node = { layer, className: layer.getClassName(), inputs, outputs: [], callArgs: (sym.callArgs ?? {}) as Kwargs };
      nodes.set(key, node);
      order.push(node);
    }
    const j = sym.outputTensorIndex ?? 0;
    node.outputs[j] ??= slots++;
    return node.outputs[j];
  };
  const readSlots = sources.map((s) => visit(loaded.graph.layers[s.layer!].output));

  // Who reads each slot: a chain is fused only through outputs nothing else needs.
  const readers = new Map<number, Node[]>();
  for (const node of order) for (const s of node.inputs) readers.set(s, [...(readers.get(s) ?? []), node]);
  const kept = new Set(readSlots);
  const soleReader = (slot: number | undefined) => {
    const r = slot === undefined ? undefined : readers.get(slot);
    return slot !== undefined && !kept.has(slot) && r?.length === 1 && r[0].inputs.length === 1 ? r[0] : undefined;
  };

  const steps: Step[] = [];
  const fused = new Set<Node>();
  for (const node of order) {
    if (fused.has(node)) continue;
    const conv = node.inputs.length === 1 && node.outputs.length === 1 ? fusableConv(node.layer) : undefined;
    if (conv) {
      const chain: ConvChain = { conv };
      const members = [node];
      let out = node.outputs[0];
      if (conv.activation) {
        chain.activation = conv.activation;
      } else {
        let next = soleReader(out);
        if (next?.className === 'BatchNormalization') {
          const spec = batchNormSpec(next.layer);
          if (spec.axis === -1 || spec.axis === 3) {
            chain.norm = spec;
            members.push(next);
            out = next.outputs[0];
            next = soleReader(out);
          }
        }
        const activation = next && activationLayer(next.layer);
        if (next && activation) {
          chain.activation = activation;
          members.push(next);
          out = next.outputs[0];
        }
      }
      if (chain.norm || chain.activation) {
        const [input] = node.inputs;
        steps.push((v, relu) => void (v[out] = runChain(chain, v[input] as tf.Tensor4D, relu)));
        for (const m of members) fused.add(m);
        continue;
      }
    }
    steps.push(nodeStep(node));
  }

  return (x, relu, tap) => {
    const run = () => {
      const values: tf.Tensor[] = new Array(slots);
      values[0] = x;
      const tapped = new Set<number>();
      const tapReady = () => {
        readSlots.forEach((s, i) => {
          if (values[s] !== undefined && !tapped.has(s)) {
            tapped.add(s);
            values[s] = tap!(i, values[s]);
          }
        });
      };
      if (tap) tapReady();
      for (const step of steps) {
        step(values, relu);
        if (tap) tapReady();
      }
      return readSlots.map((s) => (s === 0 && !tap ? x.clone() : values[s]));
    };
    // Kernels inside layers we run as themselves (a dilated conv's relu) redirect (or guide) too.
    return withGradients(SCOPED_GRADIENTS[relu], run);
  };
}
