import tf = require('@tensorflow/tfjs');
import { derivedFrom } from '../../backend/derived-weights.js';
import { affineOf, type BatchNormSpec } from './batch-norm.js';
import { convActivation, type ChainActivation } from './conv-activation.js';
import { type ReluGradient } from './guided.js';
import { type ClampActivation } from './redirect.js';

/**
 * Convolution → batch norm → activation chains (relu, relu6, leaky relu, elu, sigmoid, swish) run as one fused convolution while a dream
 * runs the network. With fixed weights a BatchNormalization layer is a per-channel affine
 * map, so scaling the convolution's kernel and bias by it gives the same numbers (up to float
 * rounding) and saves its forward pass and gradient. The activation then becomes the fused
 * kernel's own, and its gradient one pass over the output (conv-activation.ts). On a
 * MobileNet that is six passes over every activation map fewer per step, forward and back.
 * The probe (../probe.ts) decides which layers form a chain: only layers whose output feeds
 * nothing but the next layer of the chain, and is not read, are fused.
 */

type Layer = tf.layers.Layer;

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);
const pair = (v: number | number[]) => (typeof v === 'number' ? [v, v] : v);

/** relu or relu6 as an activation name, else undefined. */
export const asClamp = (name: string | undefined): ClampActivation | undefined => (name === 'relu' || name === 'relu6' ? name : undefined);

const NAMED: Record<string, ChainActivation> = { relu: { kind: 'relu' }, relu6: { kind: 'relu6' }, elu: { kind: 'elu' }, sigmoid: { kind: 'sigmoid' }, swish: { kind: 'swish' } };

/** A Keras activation name (a layer's `activation`) as a chain activation, else undefined. */
export const activationNamed = (name: string | undefined): ChainActivation | undefined => (name === undefined ? undefined : NAMED[name]);

/**
 * The activation `layer` applies, when a fused convolution can: an Activation layer of a
 * named one above, ReLU without or with max 6, LeakyReLU with a slope >= 0 (y > 0 then
 * tells x > 0 for its gradient), ELU with tfjs's alpha 1. Else undefined.
 */
export function activationLayer(layer: Layer): ChainActivation | undefined {
  const cfg = layer.getConfig() as { activation?: string; maxValue?: number | null; alpha?: number | null };
  switch (layer.getClassName()) {
    case 'Activation':
      return activationNamed(cfg.activation);
    case 'ReLU':
      return cfg.maxValue == null ? NAMED.relu : cfg.maxValue === 6 ? NAMED.relu6 : undefined;
    case 'LeakyReLU': {
      // tfjs's default slope; a layer saved by tfjs always names its own.
      const alpha = cfg.alpha ?? 0.3;
      return alpha >= 0 ? { kind: 'leakyrelu', alpha } : undefined;
    }
    case 'ELU':
      return (cfg.alpha ?? 1) === 1 ? NAMED.elu : undefined;
    default:
      return undefined;
  }
}

/** relu or relu6 (an Activation layer, or a ReLU layer without or with max 6), else undefined. */
export function clampLayer(layer: Layer): ClampActivation | undefined {
  return asClamp(activationLayer(layer)?.kind);
}

/** A convolution the fused kernel can run: its geometry, and its own activation. */
export interface FusableConv {
  layer: Layer;
  depthwise: boolean;
  strides: [number, number];
  pad: 'same' | 'valid';
  dilations: [number, number];
  /** The layer's own activation, if any. */
  activation?: ChainActivation;
}

/** `layer` as a fusable convolution, or undefined (other layers, other activations, channels first, a dilated Conv2D). */
export function fusableConv(layer: Layer): FusableConv | undefined {
  const className = layer.getClassName();
  if (!CONVS.has(className)) return undefined;
  const cfg = layer.getConfig() as { activation?: string; dataFormat?: string; strides: number | number[]; padding: string; dilationRate: number | number[] };
  const own = cfg.activation ?? 'linear';
  const activation = own === 'linear' ? undefined : activationNamed(own);
  if (own !== 'linear' && !activation) return undefined;
  if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast' || (cfg.padding !== 'same' && cfg.padding !== 'valid')) return undefined;
  const dilations = pair(cfg.dilationRate) as [number, number];
  // tfjs's Conv2DBackpropInput takes no dilation (a depthwise one does).
  if (className === 'Conv2D' && dilations.some((d) => d !== 1)) return undefined;
  return { layer, depthwise: className === 'DepthwiseConv2D', strides: pair(cfg.strides) as [number, number], pad: cfg.padding, dilations, activation };
}

/** A convolution, the batch norm folded into it if any, and the activation it ends in if any. */
export interface ConvChain {
  conv: FusableConv;
  norm?: BatchNormSpec;
  activation?: ChainActivation;
}

/**
 * The conv's kernel and bias with the normalization multiplied in, computed once per set of
 * weights (derived-weights cache); without a norm, the layer's own weights.
 */
function foldedWeights({ conv, norm }: ConvChain): { filter: tf.Tensor4D; bias?: tf.Tensor1D } {
  const convWeights = conv.layer.getWeights();
  const [kernel, convBias] = convWeights as [tf.Tensor4D, tf.Tensor1D | undefined];
  if (!norm) return { filter: kernel, bias: convBias };
  const normWeights = norm.layer.getWeights();
  const sources = [...convWeights, ...normWeights];
  const recipe = `fold:${norm.epsilon}`;
  const filter = derivedFrom(sources, `${recipe}:filter`, () => {
    const { scale } = affineOf(norm, normWeights);
    // A depthwise kernel [kh, kw, in, multiplier] makes output channel c * multiplier + m.
    const perOut = conv.depthwise ? tf.reshape(scale, [1, 1, kernel.shape[2], kernel.shape[3]]) : scale;
    return tf.mul(kernel, perOut);
  }) as tf.Tensor4D;
  const bias = derivedFrom(sources, `${recipe}:bias`, () => {
    const { scale, offset } = affineOf(norm, normWeights);
    return convBias ? tf.add(tf.mul(convBias, scale), offset) : offset;
  }) as tf.Tensor1D;
  return { filter, bias };
}

/** The chain's output for `x` ([B, h, w, c]), as one fused convolution. */
export function runChain(chain: ConvChain, x: tf.Tensor4D, relu: ReluGradient): tf.Tensor4D {
  const { conv, activation } = chain;
  const { filter, bias } = foldedWeights(chain);
  return convActivation({ x, filter, bias, depthwise: conv.depthwise, strides: conv.strides, pad: conv.pad, dilations: conv.dilations, activation, relu });
}
