import { UsageError } from '../errors.js';
import { colorize, colormapLut } from '../image/colormap.js';
import { tileGrid } from '../image/grid.js';
import { createRaster, type Raster } from '../image/raster.js';
import type * as tf from '@tensorflow/tfjs';
import { type LayerInfo } from '../model/layers.js';

/** A conv layer's weights as [kh, kw, inputs, filters] (the TF layout), whatever the layer kind. */
export interface LearnedKernels {
  kh: number;
  kw: number;
  inputs: number;
  filters: number;
  weights: Float32Array;
  /** The weight's own shape as stored in the layer. */
  storedShape: number[];
}

const KERNEL_LAYERS = ['Conv2D', 'Conv1D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'];

/**
 * Graph-model ops whose second input is a spatial filter, by the layer kind they are drawn
 * as. The converter folds batch norm into the filter (and bias) of a fused conv, so its
 * filter is the kernel the network really applies.
 */
const GRAPH_KERNEL_OPS: Record<string, string> = {
  Conv2D: 'Conv2D',
  _FusedConv2D: 'Conv2D',
  FusedConv2D: 'Conv2D',
  DepthwiseConv2dNative: 'DepthwiseConv2D',
  FusedDepthwiseConv2dNative: 'DepthwiseConv2D',
  Conv2DBackpropInput: 'Conv2DTranspose',
};

const isKernelLayer = (l: LayerInfo) => (l.node === undefined ? KERNEL_LAYERS.includes(l.className) : l.className in GRAPH_KERNEL_OPS);

export function convLayerNames(layers: readonly LayerInfo[]): string[] {
  return layers.filter(isKernelLayer).map((l) => `${l.index} ${l.name}`);
}

/**
 * Read the spatial kernel of a conv-like layer. Depthwise kernels (and the depthwise half of a
 * separable conv) have one single-input filter per channel; a transposed conv stores
 * [kh, kw, filters, inputs] and is swapped here so every kind is drawn the same way.
 */
export function learnedKernels(info: LayerInfo, allLayers: readonly LayerInfo[] = [], graphWeights?: tf.NamedTensorMap | Record<string, tf.Tensor[]>): LearnedKernels {
  if (!isKernelLayer(info)) {
    const convs = convLayerNames(allLayers);
    const hint = convs.length ? ` (conv layers: ${convs.slice(0, 6).join(', ')}${convs.length > 6 ? ', ...' : ''})` : '';
    const kinds = info.node === undefined ? KERNEL_LAYERS : Object.keys(GRAPH_KERNEL_OPS);
    throw new UsageError(`layer ${info.index} '${info.name}' is a ${info.className}, not a convolution: kernels needs one of ${kinds.join(', ')}${hint}`);
  }
  const kind = info.node === undefined ? info.className : GRAPH_KERNEL_OPS[info.className];
  const tensor = info.node === undefined ? layerKernel(info) : graphFilter(info, graphWeights);
  const shape = tensor.shape;
  const data = tensor.dataSync() as Float32Array;
  let [kh, kw, a, b] = shape.length === 3 ? [1, shape[0], shape[1], shape[2]] : shape;
  let weights = Float32Array.from(data);
  if (kind === 'DepthwiseConv2D' || kind === 'SeparableConv2D') {
    // [kh, kw, channels, multiplier] flattens to [kh, kw, 1, channels*multiplier] unchanged.
    [a, b] = [1, a * b];
  } else if (kind === 'Conv2DTranspose') {
    weights = new Float32Array(data.length);
    for (let p = 0; p < kh * kw; p++) for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) weights[(p * b + j) * a + i] = data[(p * a + i) * b + j];
    [a, b] = [b, a];
  }
  return { kh, kw, inputs: a, filters: b, weights, storedShape: shape };
}

function layerKernel(info: LayerInfo): tf.Tensor {
  const vars = info.layer.weights;
  const at = vars.findIndex((v) => /kernel/.test(v.originalName ?? v.name));
  if (at < 0) throw new UsageError(`layer ${info.index} '${info.name}' (${info.className}) has no kernel weights (is it built?)`);
  return vars[at].read();
}

/** A graph conv's filter: the weight node feeding its second input. */
function graphFilter(info: LayerInfo, graphWeights: Record<string, tf.Tensor[] | tf.Tensor> | undefined): tf.Tensor {
  // Conv2DBackpropInput takes (output size, filter, input); the other convs (input, filter, ...).
  const input = info.nodeInputs?.[1]?.replace(/^\^/, '').split(':')[0];
  const found = input === undefined ? undefined : graphWeights?.[input];
  const tensor = Array.isArray(found) ? found[0] : found;
  if (!tensor || tensor.rank !== 4) {
    throw new UsageError(`layer ${info.index} '${info.name}' (${info.className}) has no filter weights: its filter input ${input ?? '(none)'} is not a weight of the graph`);
  }
  return tensor;
}

/** Filter f, input i as a kh×kw plane. */
function slice(k: LearnedKernels, f: number, i: number): Float32Array {
  const out = new Float32Array(k.kh * k.kw);
  for (let p = 0; p < out.length; p++) out[p] = k.weights[(p * k.inputs + i) * k.filters + f];
  return out;
}

export interface FilterStats {
  filter: number;
  min: number;
  max: number;
  mean: number;
  /** L2 norm: how strongly the filter responds overall. */
  norm: number;
}

export function filterStats(k: LearnedKernels, f: number): FilterStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < k.inputs; i++) {
    for (const v of slice(k, f, i)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
      sq += v * v;
    }
  }
  return { filter: f, min, max, mean: sum / (k.kh * k.kw * k.inputs), norm: Math.sqrt(sq) };
}

export type KernelMode = 'rgb' | 'per-input' | 'mean';

export interface KernelFigureOptions {
  filters?: number[];
  /** `mean` averages over input channels: one tile per filter for deep layers. */
  reduce?: 'none' | 'mean';
  /** `filter`: each filter stretched to its own largest |weight|; `layer`: one scale for all. */
  scale?: 'filter' | 'layer';
  /** Target tile side in pixels; kernels are enlarged by nearest neighbour to about this. */
  tileSize?: number;
  cmap?: string;
}

/**
 * The picture `cnnviz kernels` draws. A filter over 3 inputs is one RGB tile: weight 0 is
 * mid-gray, +max full channel, -max none, so a red-minus-green detector looks red/cyan. Other
 * input counts get one small grid per filter (a tile per input channel) through a diverging
 * map, or one tile of the channel mean with `reduce: 'mean'`.
 */
export function kernelsFigure(k: LearnedKernels, opts: KernelFigureOptions = {}): { raster: Raster; mode: KernelMode } {
  const filters = opts.filters ?? Array.from({ length: k.filters }, (_, i) => i);
  const stats = filters.map((f) => filterStats(k, f));
  const layerMax = Math.max(...stats.map((s) => Math.max(Math.abs(s.min), Math.abs(s.max))));
  const bound = (j: number) => (opts.scale === 'layer' ? layerMax : Math.max(Math.abs(stats[j].min), Math.abs(stats[j].max))) || 1;
  const side = Math.max(k.kh, k.kw);
  const tileSize = opts.tileSize ?? 48;
  const labels = filters.map(String);
  const mode: KernelMode = opts.reduce === 'mean' ? 'mean' : k.inputs === 3 ? 'rgb' : 'per-input';
  const lut = colormapLut(opts.cmap ?? 'rdbu');
  const factor = Math.max(1, Math.round(tileSize / side));
  const labelScale = factor * side >= 64 ? 2 : 1;

  if (mode === 'rgb') {
    const tiles = filters.map((f, j) => {
      const tile = createRaster(k.kw, k.kh, 3);
      const m = bound(j);
      for (let c = 0; c < 3; c++) slice(k, f, c).forEach((v, p) => (tile.data[3 * p + c] = Math.round(127.5 + (127.5 * v) / m)));
      return tile;
    });
    return { raster: tileGrid(tiles, { gutter: 4, labels, labelScale, scale: factor }), mode };
  }
  if (mode === 'mean') {
    const means = filters.map((f) => {
      const mean = new Float32Array(k.kh * k.kw);
      for (let i = 0; i < k.inputs; i++) slice(k, f, i).forEach((v, p) => (mean[p] += v / k.inputs));
      return mean;
    });
    const absMax = (a: Float32Array) => Math.max(...a.map(Math.abs));
    const meanMax = Math.max(...means.map(absMax));
    const tiles = means.map((mean) => {
      const m = (opts.scale === 'layer' ? meanMax : absMax(mean)) || 1;
      return colorize(mean, k.kw, k.kh, -m, m, lut);
    });
    return { raster: tileGrid(tiles, { gutter: 4, labels, labelScale, scale: factor }), mode };
  }
  const innerCols = Math.ceil(Math.sqrt(k.inputs));
  const innerFactor = Math.max(2, Math.round(tileSize / (side * innerCols)));
  const tiles = filters.map((f, j) => {
    const m = bound(j);
    const planes = Array.from({ length: k.inputs }, (_, i) => colorize(slice(k, f, i), k.kw, k.kh, -m, m, lut));
    return k.inputs === 1 ? planes[0] : tileGrid(planes, { gutter: 1, scale: innerFactor, background: [200, 200, 200] });
  });
  return { raster: tileGrid(tiles, { gutter: 4, labels, scale: k.inputs === 1 ? factor : 1 }), mode };
}

/** The first layer `kernels` can draw, its default (a layer's isConv also covers ops without a filter). */
export function firstKernelLayer(layers: readonly LayerInfo[]): number | undefined {
  return layers.find(isKernelLayer)?.index;
}
