import tf = require('@tensorflow/tfjs');
import { type LoadedModel } from '../model/load.js';
import { type LayerInfo } from '../model/layers.js';
import { convActivation, type ClampActivation } from './conv-activation.js';

/**
 * Convolution → batch norm → relu/relu6 chains run as one fused convolution while a dream
 * runs the network. With fixed weights a BatchNormalization layer is a per-channel affine
 * map, so scaling the convolution's kernel and bias by it gives the same numbers (up to float
 * rounding) and saves its forward pass and gradient. The activation then becomes the fused
 * kernel's clamp, and its gradient one pass over the output (conv-activation.ts). On a
 * MobileNet that is six passes over every activation map fewer per step, forward and back.
 * It also lets a dream run through a BatchNormalization without scale (InceptionV3's):
 * tfjs 4.22 cannot take that gradient, since it saves the missing scale for the backward pass.
 * Only layers whose output feeds nothing but the next layer of the chain, and is not the
 * layer being read, are fused.
 */

type Layer = tf.layers.Layer;
type Call = Layer['call'];

interface Chain {
  conv: Layer;
  depthwise: boolean;
  norm?: Layer;
  act?: { layer: Layer; kind: ClampActivation };
}

interface Folded {
  ids: object[];
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D;
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);
const chainsOf = new WeakMap<LoadedModel, Chain[]>();
const foldedOf = new WeakMap<Layer, Folded>();

const one = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);
const pair = (v: number | number[]) => (typeof v === 'number' ? [v, v] : v);

function inboundIds(info: LayerInfo): string[] {
  return info.layer.inboundNodes.flatMap((n) => n.inputTensors.map((t) => String(t.id)));
}

/** relu or relu6 (an Activation layer, or a ReLU layer without or with max 6), else undefined. */
function clampOf(info: LayerInfo): ClampActivation | undefined {
  const cfg = info.layer.getConfig() as { activation?: string; maxValue?: number | null };
  if (info.className === 'Activation') return cfg.activation === 'relu' || cfg.activation === 'relu6' ? cfg.activation : undefined;
  if (info.className === 'ReLU') return cfg.maxValue == null ? 'relu' : cfg.maxValue === 6 ? 'relu6' : undefined;
  return undefined;
}

/** Every chain of the flattened graph that can be fused. */
function fusableChains(loaded: LoadedModel): Chain[] {
  let chains = chainsOf.get(loaded);
  if (chains) return chains;
  const layers = loaded.graph.layers;
  const readers = new Map<string, LayerInfo[]>();
  for (const l of layers) for (const id of inboundIds(l)) readers.set(id, [...(readers.get(id) ?? []), l]);
  const outputs = new Set(loaded.graph.outputs.map((t) => String(t.id)));
  // The one layer that reads `l`'s output, called once, when nothing else needs that output.
  const soleReader = (l: LayerInfo) => {
    const id = String(l.output.id);
    const r = readers.get(id);
    return r?.length === 1 && !outputs.has(id) && r[0].layer.inboundNodes.length === 1 ? r[0] : undefined;
  };
  chains = [];
  for (const conv of layers) {
    if (!CONVS.has(conv.className) || conv.layer.inboundNodes.length !== 1) continue;
    const cfg = conv.layer.getConfig() as { activation?: string; dataFormat?: string; dilationRate: number | number[] };
    if ((cfg.activation ?? 'linear') !== 'linear' || (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') continue;
    // tfjs's Conv2DBackpropInput takes no dilation (a depthwise one does).
    if (conv.className === 'Conv2D' && pair(cfg.dilationRate).some((d) => d !== 1)) continue;
    let next = soleReader(conv);
    let norm: LayerInfo | undefined;
    if (next?.className === 'BatchNormalization') {
      const axis = (next.layer.getConfig() as { axis?: number }).axis;
      if (axis === -1 || axis === next.outputShape.length - 1) {
        norm = next;
        next = soleReader(next);
      }
    }
    const kind = next && clampOf(next);
    const act = next && kind ? { layer: next.layer, kind } : undefined;
    if (!norm && !act) continue;
    chains.push({ conv: conv.layer, depthwise: conv.className === 'DepthwiseConv2D', norm: norm?.layer, act });
  }
  chainsOf.set(loaded, chains);
  return chains;
}

/** The conv's kernel and bias with the normalization multiplied in, computed once per set of weights. */
function folded({ conv, norm, depthwise }: Chain): Omit<Folded, 'ids'> {
  const convWeights = conv.getWeights();
  const [kernel, convBias] = convWeights as [tf.Tensor4D, tf.Tensor1D | undefined];
  // Nothing to fold: the layer's own weights, which are its to dispose, not a cache's.
  if (!norm) return { filter: kernel, bias: convBias };
  const normWeights = norm.getWeights();
  const ids = [...convWeights, ...normWeights].map((w) => w.dataId);
  const hit = foldedOf.get(conv);
  if (hit && hit.ids.length === ids.length && hit.ids.every((id, i) => id === ids[i])) return hit;
  if (hit) tf.dispose([hit.filter, ...(hit.bias ? [hit.bias] : [])]);
  const ncfg = norm.getConfig() as { epsilon: number; scale: boolean; center: boolean };
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

function fusedCall(chain: Chain, withActivation: boolean): Call {
  const cfg = chain.conv.getConfig() as { strides: [number, number]; padding: 'same' | 'valid'; dilationRate: number | [number, number] };
  return (inputs) => {
    const { filter, bias } = folded(chain);
    return convActivation({
      x: one(inputs) as tf.Tensor4D,
      filter,
      bias,
      depthwise: chain.depthwise,
      strides: cfg.strides,
      pad: cfg.padding,
      dilations: cfg.dilationRate,
      activation: withActivation ? chain.act?.kind : undefined,
    });
  };
}

/**
 * Run `forward` (the network's forward pass, as a dream step records it for its gradient)
 * with every fusable chain fused, short of layer `readIndex` (the output being read must stay
 * what it is: reading a batch norm fuses the conv into it but leaves the activation after it
 * alone; reading a conv leaves its chain unfused). Layers are patched only for the duration.
 */
export function withFusedConvolutions<T>(loaded: LoadedModel, readIndex: number, forward: () => T): T {
  if (loaded.graphModel) return forward();
  const read = loaded.graph.layers[readIndex]?.layer;
  const chains = fusableChains(loaded).filter((c) => c.conv !== read);
  if (!chains.length) return forward();
  const saved: Array<[Layer, Call | undefined]> = [];
  // The fused output flows on through the chain's later layers, which pass it along (clone
  // shares the buffer on wasm: Identity).
  const patch = (layer: Layer, call: Call) => {
    saved.push([layer, Object.prototype.hasOwnProperty.call(layer, 'call') ? layer.call : undefined]);
    layer.call = call;
  };
  const passOn: Call = (inputs) => tf.clone(one(inputs));
  for (const c of chains) {
    const withActivation = c.act !== undefined && c.norm !== read;
    if (!c.norm && !withActivation) continue;
    patch(c.conv, fusedCall(c, withActivation));
    if (c.norm) patch(c.norm, passOn);
    if (withActivation) patch(c.act!.layer, passOn);
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
