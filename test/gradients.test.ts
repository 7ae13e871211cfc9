import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { registerWasmGradients, wasmGradientKernelNames } from '../src/backend/gradients.js';
import { conv2dFilterGradient, conv2dInputGradient, type ConvPad } from '../src/backend/conv-gradients.js';
import { asSwap, sliceRuns } from '../src/backend/wasm-kernels.js';
import { zeroDilate } from '../src/backend/zero-dilate.js';
import { mulberry32, randomArray, expectClose } from './gradients-helpers.js';

/**
 * Every composed wasm gradient against the cpu backend's loop kernels, over seeded random
 * geometries. tfjs's cpu kernels ignore dilations in the backprop loops, so dilated cases
 * are checked against the undilated kernel applied to a zero-stuffed filter (the same
 * function by definition).
 */

interface Case {
  n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number;
  strides: [number, number]; dilations: [number, number]; pad: ConvPad; m: number;
}

function outLen(len: number, k: number, s: number, d: number, pad: ConvPad, axis: number): number {
  const eff = (k - 1) * d + 1;
  if (pad === 'same') return Math.ceil(len / s);
  if (pad === 'valid') return Math.floor((len - eff) / s) + 1;
  const [a, b] = (pad as number[][])[axis];
  return Math.floor((len + a + b - eff) / s) + 1;
}

/** `maxWork` bounds n*h*w*kh*kw*ci*co, for references (cpu's filter-gradient loop) that are slow. */
function randomCase(rand: () => number, depthwise: boolean, allowDilation: boolean, maxWork = Infinity): Case {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  for (;;) {
    const strides: [number, number] = [int(1, 3), int(1, 3)];
    const dilated = allowDilation && strides[0] === 1 && strides[1] === 1 && rand() < 0.5;
    const dilations: [number, number] = dilated ? [int(1, 2), int(1, 2)] : [1, 1];
    const kind = int(0, 2);
    const pad: ConvPad = kind === 0 ? 'same' : kind === 1 ? 'valid' : [[0, 0], [int(0, 3), int(0, 3)], [int(0, 3), int(0, 3)], [0, 0]];
    const c: Case = {
      n: int(1, 2), h: int(5, 33), w: int(5, 33), ci: int(1, 17), co: int(1, 17), kh: int(1, 7), kw: int(1, 7),
      strides, dilations, pad, m: depthwise ? int(1, 2) : 1,
    };
    const work = c.n * c.h * c.w * c.kh * c.kw * c.ci * c.co;
    if (work <= maxWork && outLen(c.h, c.kh, strides[0], dilations[0], pad, 1) >= 1 && outLen(c.w, c.kw, strides[1], dilations[1], pad, 2) >= 1) return c;
  }
}

/** A dilated kernel as an undilated one with zeros between the taps. */
function stuff(f: Float32Array, shape: number[], [dh, dw]: [number, number]): { data: Float32Array; shape: number[] } {
  const [kh, kw, a, b] = shape;
  const eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  const out = new Float32Array(eh * ew * a * b);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let k = 0; k < a * b; k++) {
    out[((i * dh) * ew + j * dw) * a * b + k] = f[(i * kw + j) * a * b + k];
  }
  return { data: out, shape: [eh, ew, a, b] };
}

/**
 * Direct sum for the conv2d filter gradient. cpu's Conv2DBackpropFilter would need the
 * zero-stuffed shape and takes seconds per case at that size.
 */
function filterGradRef(x: { data: Float32Array; shape: number[] }, dy: { data: Float32Array; shape: number[] }, fshape: number[], c: Case): Float32Array {
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const [kh, kw] = fshape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as never, fshape as never, c.strides, c.dilations, c.pad as never);
  const out = new Float32Array(kh * kw * ci * co);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) {
    for (let i = 0; i < kh; i++) {
      const iy = oy * c.strides[0] + i * c.dilations[0] - info.padInfo.top;
      if (iy < 0 || iy >= h) continue;
      for (let j = 0; j < kw; j++) {
        const ix = ox * c.strides[1] + j * c.dilations[1] - info.padInfo.left;
        if (ix < 0 || ix >= w) continue;
        for (let a = 0; a < ci; a++) {
          const xv = x.data[((b * h + iy) * w + ix) * ci + a];
          const base = ((i * kw + j) * ci + a) * co;
          const dyBase = ((b * ho + oy) * wo + ox) * co;
          for (let o = 0; o < co; o++) out[base + o] += xv * dy.data[dyBase + o];
        }
      }
    }
  }
  return out;
}

/** Taps of an undilated filter gradient that a dilated kernel actually has. */
function unstuff(g: Float32Array, shape: number[], [dh, dw]: [number, number], [kh, kw]: [number, number]): Float32Array {
  const [, ew, a, b] = shape;
  const out = new Float32Array(kh * kw * a * b);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let k = 0; k < a * b; k++) {
    out[(i * kw + j) * a * b + k] = g[((i * dh) * ew + j * dw) * a * b + k];
  }
  return out;
}

async function on<T>(backend: string, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

/**
 * Reads happen outside tf.tidy on purpose: tidy walks whatever it returns looking for
 * tensors, and walking a large Float32Array element by element costs seconds.
 */
function read(fn: () => tf.Tensor): Float32Array {
  const out = tf.tidy(fn);
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

function run(kernel: string, inputs: Record<string, { data: Float32Array; shape: number[] }>, attrs: Record<string, unknown>): Float32Array {
  return read(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
    return tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  });
}

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
  registerWasmGradients();
});
afterAll(async () => {
  await tf.setBackend('wasm');
});

const CASES = 40;

describe('wasm conv2d gradients match cpu', () => {
  test('Conv2DBackpropInput over random geometries', async () => {
    const rand = mulberry32(1);
    for (let t = 0; t < CASES; t++) {
      const c = randomCase(rand, false, false);
      const ho = outLen(c.h, c.kh, c.strides[0], 1, c.pad, 1), wo = outLen(c.w, c.kw, c.strides[1], 1, c.pad, 2);
      const dy = { data: randomArray(rand, c.n * ho * wo * c.co), shape: [c.n, ho, wo, c.co] };
      const filter = { data: randomArray(rand, c.kh * c.kw * c.ci * c.co), shape: [c.kh, c.kw, c.ci, c.co] };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.n, c.h, c.w, c.ci] };
      const ref = await on('cpu', () => run('Conv2DBackpropInput', { dy, filter }, attrs));
      const got = await on('wasm', () => run('Conv2DBackpropInput', { dy, filter }, attrs));
      expectClose(got, ref, 1e-4, JSON.stringify(c));
    }
  });

  test('Conv2DBackpropInput of strided 1x1 convs (the zero-spread path), odd and even sizes, every padding', async () => {
    const rand = mulberry32(7);
    const pads: ConvPad[] = ['same', 'valid', [[0, 0], [0, 2], [0, 1], [0, 0]], [[0, 0], [1, 0], [0, 1], [0, 0]]];
    for (const [h, w, sh, sw] of [[8, 8, 2, 2], [9, 7, 2, 2], [10, 11, 3, 2], [5, 6, 2, 3], [3, 3, 2, 2]]) {
      for (const pad of pads) {
        const c = { n: 2, h, w, ci: 5, co: 7, kh: 1, kw: 1, strides: [sh, sw] as [number, number], dilations: [1, 1] as [number, number], pad, m: 1 };
        const ho = outLen(h, 1, sh, 1, pad, 1), wo = outLen(w, 1, sw, 1, pad, 2);
        if (ho < 1 || wo < 1) continue;
        const dy = { data: randomArray(rand, c.n * ho * wo * c.co), shape: [c.n, ho, wo, c.co] };
        const filter = { data: randomArray(rand, c.ci * c.co), shape: [1, 1, c.ci, c.co] };
        const attrs = { strides: c.strides, pad, dataFormat: 'NHWC', inputShape: [c.n, h, w, c.ci] };
        const ref = await on('cpu', () => run('Conv2DBackpropInput', { dy, filter }, attrs));
        const got = await on('wasm', () => run('Conv2DBackpropInput', { dy, filter }, attrs));
        expectClose(got, ref, 1e-5, JSON.stringify(c));
        const direct = read(() => conv2dInputGradient(tf.tensor4d(dy.data, dy.shape as never), tf.tensor4d(filter.data, [1, 1, c.ci, c.co]), [c.n, h, w, c.ci], { strides: c.strides, dilations: [1, 1], pad }));
        expectClose(direct, ref, 1e-5, `direct ${JSON.stringify(c)}`);
      }
    }
  });

  test('Conv2DBackpropFilter over random geometries', async () => {
    const rand = mulberry32(2);
    for (let t = 0; t < CASES; t++) {
      // cpu's Conv2DBackpropFilter takes seconds on the largest draws; keep the suite short.
      const c = randomCase(rand, false, false, 1e6);
      const ho = outLen(c.h, c.kh, c.strides[0], 1, c.pad, 1), wo = outLen(c.w, c.kw, c.strides[1], 1, c.pad, 2);
      const x = { data: randomArray(rand, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
      const dy = { data: randomArray(rand, c.n * ho * wo * c.co), shape: [c.n, ho, wo, c.co] };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.kh, c.kw, c.ci, c.co] };
      const ref = await on('cpu', () => run('Conv2DBackpropFilter', { x, dy }, attrs));
      const got = await on('wasm', () => run('Conv2DBackpropFilter', { x, dy }, attrs));
      expectClose(got, ref, 1e-4, JSON.stringify(c));
    }
  });

  test('dilated conv2d gradients (exported helpers) match a zero-stuffed kernel on cpu', async () => {
    const rand = mulberry32(3);
    for (let t = 0; t < 12; t++) {
      const c = randomCase(rand, false, true);
      if (c.strides[0] !== 1 || c.strides[1] !== 1) c.strides = [1, 1];
      if (c.dilations[0] === 1 && c.dilations[1] === 1) c.dilations = [2, 2];
      const ho = outLen(c.h, c.kh, 1, c.dilations[0], c.pad, 1), wo = outLen(c.w, c.kw, 1, c.dilations[1], c.pad, 2);
      if (ho < 1 || wo < 1) continue;
      const fshape = [c.kh, c.kw, c.ci, c.co];
      const filter = randomArray(rand, c.kh * c.kw * c.ci * c.co);
      const x = { data: randomArray(rand, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
      const dy = { data: randomArray(rand, c.n * ho * wo * c.co), shape: [c.n, ho, wo, c.co] };
      const stuffed = stuff(filter, fshape, c.dilations);
      const refDx = await on('cpu', () =>
        run('Conv2DBackpropInput', { dy, filter: stuffed }, { strides: 1, pad: c.pad, dataFormat: 'NHWC', inputShape: x.shape }));
      const refDf = filterGradRef(x, dy, fshape, c);
      const geometry = { strides: 1, dilations: c.dilations, pad: c.pad };
      await tf.setBackend('wasm');
      const gotDx = read(() => conv2dInputGradient(tf.tensor4d(dy.data, dy.shape as never), tf.tensor4d(filter, fshape as never), x.shape, geometry));
      const gotDf = read(() => conv2dFilterGradient(tf.tensor4d(x.data, x.shape as never), tf.tensor4d(dy.data, dy.shape as never), fshape, geometry));
      expectClose(gotDx, refDx, 1e-4, JSON.stringify(c));
      expectClose(gotDf, refDf, 1e-4, JSON.stringify(c));
    }
  });
});

describe('wasm depthwise gradients match cpu', () => {
  test('DepthwiseConv2dNativeBackpropInput over random geometries', async () => {
    const rand = mulberry32(4);
    for (let t = 0; t < CASES; t++) {
      const c = randomCase(rand, true, true);
      const ho = outLen(c.h, c.kh, c.strides[0], c.dilations[0], c.pad, 1), wo = outLen(c.w, c.kw, c.strides[1], c.dilations[1], c.pad, 2);
      const fshape = [c.kh, c.kw, c.ci, c.m];
      const filter = { data: randomArray(rand, c.kh * c.kw * c.ci * c.m), shape: fshape };
      const dy = { data: randomArray(rand, c.n * ho * wo * c.ci * c.m), shape: [c.n, ho, wo, c.ci * c.m] };
      const inputShape = [c.n, c.h, c.w, c.ci];
      const stuffed = stuff(filter.data, fshape, c.dilations);
      const ref = await on('cpu', () =>
        run('DepthwiseConv2dNativeBackpropInput', { dy, filter: stuffed }, { strides: c.strides, dilations: 1, pad: c.pad, inputShape }));
      const got = await on('wasm', () =>
        run('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { strides: c.strides, dilations: c.dilations, pad: c.pad, inputShape }));
      expectClose(got, ref, 1e-4, JSON.stringify(c));
    }
  });

  test('DepthwiseConv2dNativeBackpropFilter over random geometries', async () => {
    const rand = mulberry32(5);
    for (let t = 0; t < CASES; t++) {
      const c = randomCase(rand, true, true);
      const ho = outLen(c.h, c.kh, c.strides[0], c.dilations[0], c.pad, 1), wo = outLen(c.w, c.kw, c.strides[1], c.dilations[1], c.pad, 2);
      const fshape = [c.kh, c.kw, c.ci, c.m];
      const x = { data: randomArray(rand, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
      const dy = { data: randomArray(rand, c.n * ho * wo * c.ci * c.m), shape: [c.n, ho, wo, c.ci * c.m] };
      const eff = [(c.kh - 1) * c.dilations[0] + 1, (c.kw - 1) * c.dilations[1] + 1, c.ci, c.m];
      const ref = await on('cpu', () =>
        run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: c.strides, dilations: 1, pad: c.pad, filterShape: eff }));
      const got = await on('wasm', () =>
        run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: c.strides, dilations: c.dilations, pad: c.pad, filterShape: fshape }));
      expectClose(got, unstuff(ref, eff, c.dilations, [c.kh, c.kw]), 1e-4, JSON.stringify(c));
    }
  });
});

describe('gradients through Layers models on wasm', () => {
  /** Conv2D with bias and no activation takes tfjs's fused path, whose gradient also needs the filter gradient. */
  function smallNet(seed: number): tf.LayersModel {
    const init = (s: number) => tf.initializers.randomNormal({ stddev: 0.3, seed: seed + s });
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [15, 14, 3], filters: 6, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1), biasInitializer: init(2) }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', depthwiseInitializer: init(3), biasInitializer: init(4) }));
    m.add(tf.layers.reLU({ maxValue: 6 }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: init(5), useBias: false }));
    m.add(tf.layers.conv2d({ filters: 5, kernelSize: 1, activation: 'relu', kernelInitializer: init(6) }));
    return m;
  }

  async function gradsOn(backend: string): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const model = smallNet(7);
    const rand = mulberry32(8);
    const x = tf.tensor4d(randomArray(rand, 2 * 15 * 14 * 3), [2, 15, 14, 3]);
    const weights = model.trainableWeights.map((w) => w.read());
    const f = (input: tf.Tensor, ...ws: tf.Tensor[]) => {
      void ws;
      return tf.mean(tf.square(model.apply(input) as tf.Tensor));
    };
    const grads = tf.grads(f)([x, ...weights]);
    const out = grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose([x, ...grads]);
    model.dispose();
    return out;
  }

  test('input and weight gradients agree with cpu (fused conv, depthwise, multiplier 2)', async () => {
    const ref = await gradsOn('cpu');
    const got = await gradsOn('wasm');
    expect(got.length).toBe(ref.length);
    got.forEach((g, i) => expectClose(g, ref[i], 1e-4, `gradient ${i}`));
  });
});

describe('wasm MaxPoolGrad matches cpu', () => {
  test('disjoint windows, overlapping and padded ones, 1x1, with ties', async () => {
    const rand = mulberry32(6);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    for (let t = 0; t < 24; t++) {
      const k = int(1, 3);
      const s = t % 3 === 2 ? int(1, 3) : k;
      const pad = t % 4 === 3 ? 'same' : 'valid';
      const [n, h, w, c] = [int(1, 2), int(5, 20), int(5, 20), int(1, 9)];
      // Small integers make equal maxima in one window common, so tie routing is tested.
      const input = { data: Float32Array.from({ length: n * h * w * c }, () => int(-2, 2)), shape: [n, h, w, c] };
      const attrs = { filterSize: k, strides: s, pad };
      const output = await on('cpu', () => {
        const o = tf.maxPool(tf.tensor4d(input.data, input.shape as never), k, s, pad);
        const data = o.dataSync() as Float32Array;
        const shape = o.shape;
        o.dispose();
        return { data, shape };
      });
      const dy = { data: randomArray(rand, output.data.length), shape: output.shape };
      const ref = await on('cpu', () => run('MaxPoolGrad', { dy, input, output }, attrs));
      const got = await on('wasm', () => run('MaxPoolGrad', { dy, input, output }, attrs));
      expectClose(got, ref, 1e-6, JSON.stringify({ k, s, pad, n, h, w, c }));
    }
  });
});

describe('wasm BatchMatMul with transposes matches cpu', () => {
  test.each([[false, false], [true, false], [false, true], [true, true]])('transposeA=%s transposeB=%s, batched and broadcast', async (ta, tb) => {
    const rand = mulberry32(ta ? 7 : 8);
    for (const [batchA, batchB] of [[[], []], [[3], [3]], [[2, 1], [1, 3]]] as number[][][]) {
      const [m, k, n] = [5, 7, 4];
      const a = { data: randomArray(rand, batchA.reduce((x, y) => x * y, 1) * m * k), shape: [...batchA, ...(ta ? [k, m] : [m, k])] };
      const b = { data: randomArray(rand, batchB.reduce((x, y) => x * y, 1) * k * n), shape: [...batchB, ...(tb ? [n, k] : [k, n])] };
      const mm = () => read(() => tf.matMul(tf.tensor(a.data, a.shape), tf.tensor(b.data, b.shape), ta, tb));
      const ref = await on('cpu', mm);
      const got = await on('wasm', mm);
      expectClose(got, ref, 1e-5, JSON.stringify({ ta, tb, batchA, batchB }));
    }
  });
});

/** op on a tensor of small distinct values (0/1 for bool) of shape and dtype: its shape and values on cpu, then on wasm. */
async function onCpuAndWasm(shape: number[], dtype: tf.DataType, op: (x: tf.Tensor) => tf.Tensor) {
  const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (dtype === 'bool' ? i % 2 : i * 3 - 4));
  const run = () =>
    tf.tidy(() => {
      const t = op(tf.tensor(values, shape, dtype));
      return { shape: t.shape, data: Array.from(t.dataSync()) };
    });
  return [await on('cpu', run), await on('wasm', run)];
}

describe('wasm Tile matches cpu', () => {
  test.each([
    [[1, 1, 1, 5], [2, 7, 3, 1], 'float32'],
    [[2, 3], [3, 2], 'float32'],
    [[4], [5], 'int32'],
    [[2, 1, 3], [1, 4, 1], 'int32'],
    [[2, 2, 2, 2], [2, 2, 2, 2], 'float32'], // 8 broadcast dims: handed back to wasm's kernel
    [[3, 2], [1, 1], 'bool'],
  ] as Array<[number[], number[], tf.DataType]>)('shape %j reps %j %s', async (shape, reps, dtype) => {
    const [ref, got] = await onCpuAndWasm(shape, dtype, (x) => tf.tile(x, reps));
    expect(got).toEqual(ref);
  });
});

describe('wasm Transpose matches cpu', () => {
  test('asSwap finds the swap of two neighbouring axis runs, and only that', () => {
    expect(asSwap([8, 112, 112, 2, 2, 3], [0, 1, 3, 2, 4, 5])).toEqual([8 * 112, 112, 2, 6]);
    expect(asSwap([8, 3, 128, 128], [0, 2, 3, 1])).toEqual([8, 3, 128 * 128, 1]);
    expect(asSwap([5, 7], [1, 0])).toEqual([1, 5, 7, 1]);
    expect(asSwap([2, 1, 3], [2, 1, 0])).toEqual([1, 2, 3, 1]); // the size-1 axis drops out
    expect(asSwap([2, 3, 4], [0, 1, 2])).toEqual([1, 1, 1, 24]);
    expect(asSwap([2, 3, 4], [2, 1, 0])).toBeUndefined(); // a reversal: wasm's own kernel
    expect(asSwap([2, 3, 4, 5], [1, 0, 3, 2])).toBeUndefined();
  });

  test.each([
    [[8, 6, 5, 2, 2, 3], [0, 1, 3, 2, 4, 5], 'float32'],
    [[4, 3, 9, 7], [0, 2, 3, 1], 'float32'],
    [[4, 9, 7, 3], [0, 3, 1, 2], 'float32'],
    [[5, 7], [1, 0], 'int32'],
    [[2, 1, 3, 4], [3, 1, 0, 2], 'float32'],
    [[3, 4, 5], [2, 1, 0], 'float32'], // handed back to wasm's kernel
    [[2, 3], [1, 0], 'bool'],
    [[0, 3], [1, 0], 'float32'],
  ] as Array<[number[], number[], tf.DataType]>)('shape %j perm %j %s', async (shape, perm, dtype) => {
    const [ref, got] = await onCpuAndWasm(shape, dtype, (x) => tf.transpose(x, perm));
    expect(got).toEqual(ref);
  });
});

describe('wasm Slice matches cpu', () => {
  test('sliceRuns merges the trailing axes kept whole into one run', () => {
    // The strided conv gradient's crop of one row and column: whole rows of 145 RGB pixels.
    expect(sliceRuns([8, 146, 146, 3], [0, 0, 0, 0], [8, 145, 145, 3])).toEqual({ outer: [8, 145], strides: [146 * 146 * 3, 146 * 3], offset: 0, run: 145 * 3 });
    expect(sliceRuns([4, 5, 6], [1, 0, 0], [2, 5, 6])).toEqual({ outer: [], strides: [], offset: 30, run: 60 });
    expect(sliceRuns([4, 5, 6], [0, 1, 2], [4, 3, 2])).toEqual({ outer: [4, 3], strides: [30, 6], offset: 8, run: 2 });
  });

  test.each([
    [[8, 10, 10, 3], [0, 0, 0, 0], [8, 9, 9, 3], 'float32'],
    [[3, 7, 6, 5], [1, 2, 1, 1], [2, 4, 3, 3], 'float32'],
    [[4, 5, 6], [1, 0, 0], [2, 5, 6], 'int32'],
    [[9], [2], [5], 'float32'],
    [[2, 3, 4, 5, 6], [1, 1, 0, 2, 0], [1, 2, 4, 2, 6], 'float32'],
    [[3, 4], [0, 1], [3, 0], 'float32'], // empty: wasm's own kernel
    [[3, 4], [1, 1], [2, 2], 'bool'],
  ] as Array<[number[], number[], number[], tf.DataType]>)('shape %j begin %j size %j %s', async (shape, begin, size, dtype) => {
    const [ref, got] = await onCpuAndWasm(shape, dtype, (x) => tf.slice(x, begin, size));
    expect(got).toEqual(ref);
  });
});

describe('zeroDilate (a kernel of ours on wasm) matches the pad it replaces on cpu', () => {
  test.each([
    [[2, 3, 4, 5], [2, 2]],
    [[1, 5, 3, 3], [3, 2]],
    [[3, 2, 2, 16], [1, 2]],
  ] as Array<[[number, number, number, number], [number, number]]>)('shape %j strides %j', async (shape, strides) => {
    const [ref, got] = await onCpuAndWasm(shape, 'float32', (x) => zeroDilate(x as tf.Tensor4D, strides));
    expect(got).toEqual(ref);
    expect(got.shape).toEqual([shape[0], shape[1] * strides[0], shape[2] * strides[1], shape[3]]);
  });
});

describe('wasm Identity', () => {
  test('clones outlive their source and leave no bytes behind, strings included', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory();
    const f = tf.tensor([1, 2, 3]);
    const s = tf.tensor(['a', 'bc']);
    const [cf, cs] = [tf.clone(f), tf.clone(s)];
    tf.dispose([f, s]);
    expect(Array.from(cf.dataSync())).toEqual([1, 2, 3]);
    expect(cs.dataSync()).toEqual(['a', 'bc']);
    tf.dispose([cf, cs]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});

describe('wasm Minimum/Maximum against a scalar match cpu', () => {
  test.each([
    ['minimum', 'scalar first'],
    ['minimum', 'scalar second'],
    ['maximum', 'scalar first'],
    ['maximum', 'rank-4 scalar'],
    ['minimum', 'no scalar'],
  ])('%s, %s, with infinities, and its gradient', async (op, how) => {
    const values = [-Infinity, -7, -0.5, 0, 3, 6, 6.5, Infinity, 2, -3, 5, 7];
    const fn = op === 'minimum' ? tf.minimum : tf.maximum;
    const apply = (x: tf.Tensor) => {
      if (how === 'scalar first') return fn(tf.scalar(6), x);
      if (how === 'scalar second') return fn(x, tf.scalar(0.5));
      if (how === 'rank-4 scalar') return fn(x, tf.fill([1, 1, 1, 1], 2));
      return fn(x, tf.fill(x.shape, 1));
    };
    const run = () => {
      const x = tf.tensor4d(values, [1, 2, 3, 2]);
      const y = apply(x);
      const finite = tf.tensor4d(values.map((v) => (Number.isFinite(v) ? v : 1)), [1, 2, 3, 2]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(apply(t)))(finite);
      const out = [Array.from(y.dataSync()), Array.from(g.dataSync())];
      tf.dispose([x, y, finite, g]);
      return out;
    };
    const ref = await on('cpu', run);
    const got = await on('wasm', run);
    expect(got).toEqual(ref);
  });
});

describe('registerWasmGradients', () => {
  test('is idempotent and leaves every kernel registered for wasm', () => {
    expect(registerWasmGradients()).toEqual([]);
    for (const name of wasmGradientKernelNames()) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    expect(wasmGradientKernelNames()).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad']));
  });
});
