import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { type LayerInfo } from '../model/layers.js';
import { type Read } from './objectives/objective.js';
import { linearInPicture } from './probe.js';

/**
 * When is a dream's optimum a flat colour? A channel of a layer that is linear in the picture
 * (a convolution straight on the input, before any nonlinearity) has a mean over positions
 * that depends on the picture's average colour only (edges and stride aside), so the picture
 * that maximizes it is one colour. A ReLU6 right after it does not help: a flat colour that
 * drives every position into the cap is optimal too.
 */

export { linearInPicture };

/** The ReLU or ReLU6 that closes layer `index`'s conv → (batch norm) → activation chain, if any. */
function activationAfter(layers: readonly LayerInfo[], index: number): LayerInfo | undefined {
  let j = index + 1;
  while (j < layers.length && layers[j].className === 'BatchNormalization') j++;
  const act = layers[j];
  if (!act) return undefined;
  const kind = act.className === 'ReLU' ? 'relu' : act.className === 'Activation' ? act.activation : undefined;
  return kind === 'relu' || kind === 'relu6' || (kind ?? '').startsWith('relu(') ? act : undefined;
}

/** What a channel of layer `index` is dreamed from: see channelTarget. */
export interface ChannelRead {
  /** The tensor to read. */
  read: Read;
  /** Take relu of it first (an uncapped activation in place of the layer's own). */
  relu: boolean;
  /** What the objective is called in messages. */
  name: string;
  /** One line for the user when the read is not simply the layer's output. */
  note?: string;
}

/**
 * What `--objective channel` reads at layer `index`. Usually the layer's output. For a layer
 * that is linear in the picture and closed by a ReLU or ReLU6, it is that chain's output
 * before the activation, through an uncapped ReLU: the channel after its activation, as the
 * network sees it, but without the cap that a flat colour would saturate. A unit then
 * prefers the pattern its kernel matches over the average colour. `note` says so.
 */
export function channelRead(loaded: LoadedModel, index: number): ChannelRead {
  const layers = loaded.graph.layers;
  const info = layers[index];
  const plain: ChannelRead = { read: { layer: index }, relu: false, name: info?.name ?? String(index) };
  const spatial = info?.outputShape.length === 4;
  if (!info || !spatial || info.className === 'InputLayer' || !linearInPicture(layers, index)) return plain;
  const act = activationAfter(layers, index);
  if (!act) {
    return {
      ...plain,
      note: `layer ${index} ${info.name} is linear in the picture, so a channel's mean depends only on the average colour and its dream is a flat colour: use --objective neuron, or a layer after a nonlinearity`,
    };
  }
  const before = layers[act.index - 1];
  return {
    read: { layer: before.index },
    relu: true,
    name: `relu(${before.name})`,
    note: `layer ${index} ${info.name} is linear in the picture, so its channel mean peaks at a flat colour: dreaming relu(${before.name}), the channel after its activation (${act.name}) without a cap, which a flat colour would saturate`,
  };
}

/** Standard deviation of a picture's luminance (Rec.601) in [0, 1]: ~0 for a flat colour. */
export function luminanceStd(raster: Raster): number {
  const { data, channels: c } = raster;
  const n = raster.width * raster.height;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const y = (c === 1 ? data[i] : 0.299 * data[i * c] + 0.587 * data[i * c + 1] + 0.114 * data[i * c + 2]) / 255;
    sum += y;
    sq += y * y;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/** Below this luminance spread a dream is a flat colour, whatever its hue. */
export const FLAT_STD = 0.02;

/** Fewer steps than this leave any dream close to its faint starting noise: too early to judge. */
export const FLAT_MIN_STEPS = 64;

/** One line about a dream that came out flat, or undefined when it has structure (or ran too few steps to tell). */
export function flatDreamNote(unit: number, raster: Raster, objective: number, steps = FLAT_MIN_STEPS): string | undefined {
  if (steps < FLAT_MIN_STEPS) return undefined;
  const std = luminanceStd(raster);
  if (std >= FLAT_STD) return undefined;
  const why = Math.abs(objective) < 1e-6 ? 'the unit does not respond to any picture (a dead filter: its output is 0 whatever the input)' : "this objective's optimum is a flat colour (or the dream needs more --steps)";
  return `filter ${unit}: the dream is a flat colour (luminance std ${std.toFixed(3)}, objective ${objective.toFixed(3)}): ${why}`;
}
