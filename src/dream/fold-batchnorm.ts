import * as tf from '@tensorflow/tfjs';
import { type LoadedModel } from '../model/load.js';
import { type LayerInfo } from '../model/layers.js';

/**
 * Batch normalization folded into the convolution before it, while a dream runs the network.
 * With fixed weights a BatchNormalization layer is a per-channel affine map, so scaling the
 * convolution's kernel and bias by it gives the same numbers (up to float rounding) and saves
 * the normalization's forward pass and its gradient: two passes over every activation of a
 * MobileNet (its kernel time per step fell 18%, wall time ~4%). It also lets a dream run
 * through a BatchNormalization without scale (InceptionV3's): tfjs 4.22 cannot take that
 * gradient, since it saves the missing scale for the backward pass. Only a pair whose
 * convolution feeds nothing but the normalization, and is not itself the layer being read,
 * is folded.
 */

type Layer = tf.layers.Layer;
type Call = Layer['call'];

interface Fold {
  conv: Layer;
  norm: Layer;
  depthwise: boolean;
}

interface Folded {
  ids: object[];
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);
const pairsOf = new WeakMap<LoadedModel, Fold[]>();
const foldedOf = new WeakMap<Layer, Folded>();

const one = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);

function inboundIds(info: LayerInfo): string[] {
  return info.layer.inboundNodes.flatMap((n) => n.inputTensors.map((t) => String(t.id)));
}

/** Every (convolution, batch norm) pair of the flattened graph that can be folded. */
function foldablePairs(loaded: LoadedModel): Fold[] {
  let pairs = pairsOf.get(loaded);
  if (pairs) return pairs;
  const layers = loaded.graph.layers;
  const byOutput = new Map(layers.map((l) => [String(l.output.id), l]));
  const readers = new Map<string, number>();
  for (const l of layers) for (const id of inboundIds(l)) readers.set(id, (readers.get(id) ?? 0) + 1);
  const outputs = new Set(loaded.graph.outputs.map((t) => String(t.id)));
  pairs = [];
  for (const norm of layers) {
    if (norm.className !== 'BatchNormalization' || norm.layer.inboundNodes.length !== 1) continue;
    const axis = (norm.layer.getConfig() as { axis?: number }).axis;
    if (axis !== -1 && axis !== norm.outputShape.length - 1) continue;
    const [source] = inboundIds(norm);
    const conv = byOutput.get(source);
    if (!conv || !CONVS.has(conv.className) || conv.layer.inboundNodes.length !== 1) continue;
    const cfg = conv.layer.getConfig() as { activation?: string; dataFormat?: string };
    if ((cfg.activation ?? 'linear') !== 'linear' || (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') continue;
    if (readers.get(source) !== 1 || outputs.has(source)) continue;
    pairs.push({ conv: conv.layer, norm: norm.layer, depthwise: conv.className === 'DepthwiseConv2D' });
  }
  pairsOf.set(loaded, pairs);
  return pairs;
}

/** The conv's kernel and bias with the normalization multiplied in, computed once per set of weights. */
function folded({ conv, norm, depthwise }: Fold): Folded {
  const convWeights = conv.getWeights();
  const normWeights = norm.getWeights();
  const ids = [...convWeights, ...normWeights].map((w) => w.dataId);
  const hit = foldedOf.get(conv);
  if (hit && hit.ids.length === ids.length && hit.ids.every((id, i) => id === ids[i])) return hit;
  if (hit) tf.dispose([hit.filter, hit.bias]);
  const ncfg = norm.getConfig() as { epsilon: number; scale: boolean; center: boolean };
  const [kernel, convBias] = convWeights as [tf.Tensor4D, tf.Tensor1D | undefined];
  const result = tf.tidy(() => {
    // Keras orders a BatchNormalization's weights gamma, beta, moving mean, moving variance,
    // leaving out gamma without `scale` and beta without `center`.
    const w = [...normWeights];
    const gamma = ncfg.scale ? w.shift() : undefined;
    const beta = ncfg.center ? w.shift() : undefined;
    const [mean, variance] = w;
    let s = tf.rsqrt(tf.add(variance, ncfg.epsilon));
    if (gamma) s = tf.mul(s, gamma);
    let o = tf.neg(tf.mul(mean, s));
    if (beta) o = tf.add(o, beta);
    // A depthwise kernel [kh, kw, in, multiplier] makes output channel c * multiplier + m.
    const perOut = depthwise ? tf.reshape(s, [1, 1, kernel.shape[2], kernel.shape[3]]) : s;
    const filter = tf.mul(kernel, perOut) as tf.Tensor4D;
    const bias = (convBias ? tf.add(tf.mul(convBias, s), o) : o) as tf.Tensor1D;
    return { filter: tf.keep(filter), bias: tf.keep(bias) };
  });
  const entry = { ids, ...result };
  foldedOf.set(conv, entry);
  return entry;
}

function foldedCall(fold: Fold): Call {
  const cfg = fold.conv.getConfig() as { strides: [number, number]; padding: 'same' | 'valid'; dilationRate: number | [number, number] };
  return (inputs) => {
    const { filter, bias } = folded(fold);
    const x = one(inputs) as tf.Tensor4D;
    const args = { x, filter, strides: cfg.strides, pad: cfg.padding, dataFormat: 'NHWC' as const, dilations: cfg.dilationRate };
    // The bias is added apart: a fused conv's gradient sums dy for its bias even when nobody
    // asks (a slow reduction on wasm), while an add of a constant costs nothing backwards.
    return tf.add(fold.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args), bias);
  };
}

/**
 * Run `forward` (the network's forward pass, as a dream step records it for its gradient)
 * with every foldable pair folded, except one whose convolution is layer `readIndex` (the
 * output being read must stay what it is). Layers are patched only for the duration.
 */
export function withFoldedBatchNorm<T>(loaded: LoadedModel, readIndex: number, forward: () => T): T {
  if (loaded.graphModel) return forward();
  const read = loaded.graph.layers[readIndex]?.layer;
  const pairs = foldablePairs(loaded).filter((p) => p.conv !== read);
  if (!pairs.length) return forward();
  const saved: Array<[Layer, Call | undefined]> = [];
  for (const p of pairs) {
    saved.push([p.conv, Object.prototype.hasOwnProperty.call(p.conv, 'call') ? p.conv.call : undefined]);
    saved.push([p.norm, Object.prototype.hasOwnProperty.call(p.norm, 'call') ? p.norm.call : undefined]);
    p.conv.call = foldedCall(p);
    // The normalization is now in the conv's output; clone shares the buffer (wasm Identity).
    p.norm.call = (inputs) => tf.clone(one(inputs));
  }
  try {
    return forward();
  } finally {
    for (const [layer, own] of saved.reverse()) {
      if (own) layer.call = own;
      else delete (layer as Partial<Layer>).call;
    }
  }
}
