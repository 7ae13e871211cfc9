import tf = require('@tensorflow/tfjs');
import { type LoadedModel } from './loaded.js';
import { type LayerInfo } from './layers.js';

/**
 * Receptive fields from the layer graph: which input pixels a unit of a layer can depend on.
 *
 * Each spatial axis is worked out on its own, with the real sizes at every depth (TF 'same'
 * padding pads floor(total/2) before and the rest after, and the total depends on the size
 * coming in, so a formula of kernels and strides alone is off by a pixel in places). Two
 * answers are kept per axis:
 *  - the nominal field: the classic affine one (start + p·stride, `size` wide), which runs
 *    past the image edge where padding was read — what `layers` shows as size and stride;
 *  - the exact field per position: the bounding span of the input pixels the unit reads,
 *    padding excluded. A pixel outside it cannot change the unit; the empirical tests check
 *    both that and that each of its edges is reached.
 */

/** The nominal field along one axis: position p sees [start + p·stride, start + p·stride + size - 1]. */
export interface NominalAxis {
  start: number;
  stride: number;
  size: number;
}

/** One axis of one layer's output. */
export interface AxisField extends NominalAxis {
  /** Output positions along this axis (1 for a layer without spatial positions). */
  length: number;
  /** Exact span of position p: lo[p]..hi[p] in input pixels (lo > hi: depends on no pixel, e.g. zero padding). */
  lo: Int32Array;
  hi: Int32Array;
}

/** What cropping a unit's field needs: the nominal field per axis (what `cnnviz index` records). */
export interface NominalField {
  rows: NominalAxis;
  cols: NominalAxis;
  /** The layer has no spatial positions (global pooling, dense): every unit sees the union of all. */
  global: boolean;
}

export interface LayerField extends NominalField {
  rows: AxisField;
  cols: AxisField;
}

/** A unit's field: `top..bottom`, `left..right` inclusive, in input pixels. */
export interface Box {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export type FieldOrReason = LayerField | { unsupported: string };

export function isField(f: FieldOrReason | undefined): f is LayerField {
  return !!f && !('unsupported' in f);
}

const EMPTY_LO = 2 ** 30;
const EMPTY_HI = -(2 ** 30);

/** Layers that act per position: the field passes through (union over inputs for merges). */
const POINTWISE = new Set([
  'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax',
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'Masking',
  'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate',
  'Rescaling', 'Normalization', 'LayerNormalization', 'ScalarOp', 'cnnvizHardSigmoid', 'cnnvizHardSwish',
]);
const CONV = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);
const POOL = new Set(['MaxPooling2D', 'AveragePooling2D']);
const GLOBAL_POOL = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'GlobalAveragePooling2DKeepDims', 'GlobalMaxPooling2DKeepDims']);

function identity(n: number): AxisField {
  const lo = new Int32Array(n);
  for (let p = 0; p < n; p++) lo[p] = p;
  return { length: n, start: 0, stride: 1, size: 1, lo, hi: lo.slice() };
}

/** Output size and padding before, as TensorFlow computes them. */
export function windowGeometry(inSize: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; before: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'same') {
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + effective - inSize, 0);
    return { out, before: Math.floor(total / 2) };
  }
  return { out: Math.max(0, Math.ceil((inSize - effective + 1) / stride)), before: 0 };
}

/** A sliding window (conv or pool) along one axis. */
function windowAxis(a: AxisField, kernel: number, stride: number, dilation: number, padding: string): AxisField {
  const { out, before } = windowGeometry(a.length, kernel, stride, dilation, padding);
  const lo = new Int32Array(out).fill(EMPTY_LO);
  const hi = new Int32Array(out).fill(EMPTY_HI);
  for (let p = 0; p < out; p++) {
    for (let t = 0; t < kernel; t++) {
      const q = p * stride - before + t * dilation;
      if (q < 0 || q >= a.length) continue;
      if (a.lo[q] < lo[p]) lo[p] = a.lo[q];
      if (a.hi[q] > hi[p]) hi[p] = a.hi[q];
    }
  }
  return { length: out, start: a.start - before * a.stride, stride: a.stride * stride, size: a.size + (kernel - 1) * dilation * a.stride, lo, hi };
}

/** Output position p reads input position p - shift (ZeroPadding2D: +before, Cropping2D: -before). */
function shiftAxis(a: AxisField, shift: number, out: number): AxisField {
  const lo = new Int32Array(out).fill(EMPTY_LO);
  const hi = new Int32Array(out).fill(EMPTY_HI);
  for (let p = 0; p < out; p++) {
    const q = p - shift;
    if (q >= 0 && q < a.length) {
      lo[p] = a.lo[q];
      hi[p] = a.hi[q];
    }
  }
  return { length: out, start: a.start - shift * a.stride, stride: a.stride, size: a.size, lo, hi };
}

/** Every position at once: global pooling, flatten, dense. */
function globalAxis(a: AxisField): AxisField {
  let lo = EMPTY_LO;
  let hi = EMPTY_HI;
  for (let q = 0; q < a.length; q++) {
    lo = Math.min(lo, a.lo[q]);
    hi = Math.max(hi, a.hi[q]);
  }
  // The nominal field of a global unit is what it reads: nothing lies beyond it to pad.
  return { length: 1, start: lo, stride: hi - lo + 1, size: hi - lo + 1, lo: Int32Array.of(lo), hi: Int32Array.of(hi) };
}

/** Several inputs of one size summed or stacked: each unit sees the union of their fields. */
function unionAxis(axes: AxisField[]): AxisField | string {
  const n = axes[0].length;
  if (axes.some((a) => a.length !== n)) return `inputs of different spatial sizes (${axes.map((a) => a.length).join(' vs ')})`;
  const lo = axes[0].lo.slice();
  const hi = axes[0].hi.slice();
  for (const a of axes.slice(1)) {
    for (let p = 0; p < n; p++) {
      lo[p] = Math.min(lo[p], a.lo[p]);
      hi[p] = Math.max(hi[p], a.hi[p]);
    }
  }
  const start = Math.min(...axes.map((a) => a.start));
  const end = Math.max(...axes.map((a) => a.start + a.size - 1));
  return { length: n, start, stride: Math.max(...axes.map((a) => a.stride)), size: end - start + 1, lo, hi };
}

const pair = (v: unknown, fallback: number): [number, number] => {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (v == null) return [fallback, fallback];
  return [Number(v), Number(v)];
};

/** ZeroPadding2D / Cropping2D amounts: n, [rows, cols] or [[top, bottom], [left, right]]. */
function sides(v: unknown): [[number, number], [number, number]] {
  if (Array.isArray(v) && Array.isArray(v[0])) return [pair(v[0], 0), pair(v[1], 0)];
  const [r, c] = pair(v, 0);
  return [[r, r], [c, c]];
}

const spatial = (info: LayerInfo) => info.outputShape.length === 4;

/** One layer's field from its inputs' fields, or why it cannot be given. */
function layerField(info: LayerInfo, inputs: LayerField[]): FieldOrReason {
  const cls = info.className;
  const cfg = info.layer.getConfig() as Record<string, unknown>;
  if (cfg.dataFormat === 'channelsFirst') return { unsupported: `${cls} ${info.name} is channels-first` };
  const one = inputs[0];
  if (!spatial(info) || GLOBAL_POOL.has(cls)) {
    const all = inputs.map((f) => ({ rows: globalAxis(f.rows), cols: globalAxis(f.cols) }));
    const rows = unionAxis(all.map((f) => f.rows));
    const cols = unionAxis(all.map((f) => f.cols));
    if (typeof rows === 'string' || typeof cols === 'string') return { unsupported: `${cls} ${info.name}: ${rows}` };
    return { rows, cols, global: true };
  }
  if (CONV.has(cls) || POOL.has(cls)) {
    const [kr, kc] = pair(CONV.has(cls) ? cfg.kernelSize : cfg.poolSize, 1);
    const [sr, sc] = pair(cfg.strides ?? (POOL.has(cls) ? [kr, kc] : 1), 1);
    const [dr, dc] = pair(cfg.dilationRate, 1);
    const padding = String(cfg.padding ?? 'valid');
    if (padding !== 'same' && padding !== 'valid') return { unsupported: `${cls} ${info.name} has padding '${padding}'` };
    return { rows: windowAxis(one.rows, kr, sr, dr, padding), cols: windowAxis(one.cols, kc, sc, dc, padding), global: false };
  }
  if (cls === 'ZeroPadding2D' || cls === 'Cropping2D') {
    const [[t, b], [l, r]] = sides(cls === 'ZeroPadding2D' ? cfg.padding : cfg.cropping);
    const sign = cls === 'ZeroPadding2D' ? 1 : -1;
    return {
      rows: shiftAxis(one.rows, sign * t, one.rows.length + sign * (t + b)),
      cols: shiftAxis(one.cols, sign * l, one.cols.length + sign * (l + r)),
      global: false,
    };
  }
  if (POINTWISE.has(cls) || cls === 'InputLayer') {
    if (cls === 'Concatenate' && ![-1, 3].includes(Number(cfg.axis ?? -1))) return { unsupported: `Concatenate ${info.name} joins along a spatial axis` };
    const rows = unionAxis(inputs.map((f) => f.rows));
    const cols = unionAxis(inputs.map((f) => f.cols));
    if (typeof rows === 'string' || typeof cols === 'string') return { unsupported: `${cls} ${info.name}: ${typeof rows === 'string' ? rows : cols}` };
    return { rows, cols, global: inputs.every((f) => f.global) };
  }
  // A reshape of a global vector to 1x1 (MobileNet's classifier head) still sees everything.
  if (info.outputShape[1] === 1 && info.outputShape[2] === 1 && inputs.every((f) => f.global)) return { ...inputs[0], global: true };
  return { unsupported: `no receptive field rule for ${cls} (layer ${info.name})` };
}

/**
 * Receptive fields of every layer of a layers model, indexed like `loaded.graph.layers`, for an
 * input of `inputSize` (the model's own size when it has one). Graph models get one reason.
 */
export function receptiveFields(loaded: LoadedModel, inputSize?: [number, number]): FieldOrReason[] {
  const layers = loaded.graph.layers;
  if (loaded.kind === 'graph') return layers.map(() => ({ unsupported: 'receptive fields are computed for layers models (TF.js layers, Keras), not graph models' }));
  const [h, w] = inputSize ?? [loaded.inputShape[0], loaded.inputShape[1]];
  if (h == null || w == null) return layers.map(() => ({ unsupported: 'the model takes any input size: give one to compute receptive fields' }));
  const byTensor = new Map<number, FieldOrReason>();
  for (const input of loaded.graph.inputs) byTensor.set(input.id, { rows: identity(h), cols: identity(w), global: false });
  const out: FieldOrReason[] = [];
  for (const info of layers) {
    let field = byTensor.get(info.output.id);
    if (!field) {
      const parents = (info.output as tf.SymbolicTensor & { inputs?: tf.SymbolicTensor[] }).inputs ?? [];
      const known = parents.map((t) => byTensor.get(t.id));
      const bad = known.findIndex((f) => !isField(f));
      if (parents.length === 0) field = { unsupported: `layer ${info.name} has no inputs in the graph` };
      else if (bad >= 0) field = known[bad] ?? { unsupported: `an input of ${info.name} is not a known layer` };
      else field = checkSize(info, keepGlobal(layerField(info, known as LayerField[]), known as LayerField[]));
      byTensor.set(info.output.id, field);
    }
    out.push(field);
  }
  return out;
}

/** Layers after a global one (a 1x1 conv on pooled features) still see everything. */
function keepGlobal(field: FieldOrReason, inputs: LayerField[]): FieldOrReason {
  return isField(field) && inputs.every((f) => f.global) ? { ...field, global: true } : field;
}

/** A rule whose size disagrees with the layer's own output shape would give wrong boxes: refuse instead. */
function checkSize(info: LayerInfo, field: FieldOrReason): FieldOrReason {
  if (!isField(field) || field.global || !spatial(info)) return field;
  const [, h, w] = info.outputShape;
  if ((h != null && h !== field.rows.length) || (w != null && w !== field.cols.length)) {
    return { unsupported: `receptive field of ${info.name} came out ${field.rows.length}x${field.cols.length}, but the layer outputs ${h}x${w}` };
  }
  return field;
}

/** The nominal field of unit (y, x): may run past the image edge, where padding was read. */
export function nominalBox(field: NominalField, y: number, x: number): Box {
  const r = field.rows;
  const c = field.cols;
  const top = r.start + y * r.stride;
  const left = c.start + x * c.stride;
  return { top, left, bottom: top + r.size - 1, right: left + c.size - 1 };
}

/** The input pixels unit (y, x) reads: inside the image; undefined when it reads none. */
export function exactBox(field: LayerField, y: number, x: number): Box | undefined {
  const checkPos = (a: AxisField, p: number, what: string) => {
    if (!Number.isInteger(p) || p < 0 || p >= a.length) throw new RangeError(`${what} ${p} outside 0-${a.length - 1}`);
  };
  checkPos(field.rows, y, 'row');
  checkPos(field.cols, x, 'column');
  const box = { top: field.rows.lo[y], bottom: field.rows.hi[y], left: field.cols.lo[x], right: field.cols.hi[x] };
  return box.top > box.bottom || box.left > box.right ? undefined : box;
}

/** The nominal part of a field (or its reason), plain JSON: what an index manifest records per layer. */
export function nominalField(f: FieldOrReason): NominalField | { unsupported: string } {
  if (!isField(f)) return { unsupported: f.unsupported };
  const axis = (a: NominalAxis): NominalAxis => ({ start: a.start, stride: a.stride, size: a.size });
  return { rows: axis(f.rows), cols: axis(f.cols), global: f.global };
}

/** What `layers` shows: the field's size and stride as [rows, cols]. */
export function fieldSummary(f: FieldOrReason): { rf: [number, number]; stride: [number, number]; global: boolean } | undefined {
  if (!isField(f)) return undefined;
  return { rf: [f.rows.size, f.cols.size], stride: [f.rows.stride, f.cols.stride], global: f.global };
}
