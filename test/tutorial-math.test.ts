import { execFileSync } from 'node:child_process';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { fromLayersModel } from '../src/model/load.js';
import { convolve } from '../src/tutorial/convolve.js';
import { parseKernel, parseKernelList, KERNEL_NAMES } from '../src/tutorial/filters.js';
import { axisGeometry, windowGeometry, describeGeometry } from '../src/tutorial/geometry.js';
import { pool } from '../src/tutorial/pool.js';
import { activationFn, applyActivation } from '../src/tutorial/activation.js';
import { parseMatrix, planeFromMatrix, responseToRaster, type Plane } from '../src/tutorial/plane.js';
import { convolutionFigure, poolFigure } from '../src/tutorial/figures.js';
import { channelsFigure } from '../src/tutorial/channels.js';
import { learnedKernels, kernelsFigure } from '../src/tutorial/learned.js';
import { plotActivations } from '../src/tutorial/plot.js';
import { createRaster } from '../src/image/raster.js';
import { gridGeometry } from '../src/image/grid.js';
import { writeFileAtomic } from '../src/image/io.js';
import { edgeModel, tempDir } from './helpers/models.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Deterministic pseudo-random numbers in [-1, 1) (a tiny LCG), so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** The definition, with loops: zero outside the image, window top-left at (o*S - Pbefore). */
function referenceConvolution(p: Plane, k: { rows: number; cols: number; values: Float32Array }, s: number, pad: [number, number, number, number]) {
  const [pt, pb, pl, pr] = pad;
  const oh = Math.floor((p.height + pt + pb - k.rows) / s) + 1;
  const ow = Math.floor((p.width + pl + pr - k.cols) / s) + 1;
  const out = new Float32Array(oh * ow);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let sum = 0;
      for (let ky = 0; ky < k.rows; ky++) {
        for (let kx = 0; kx < k.cols; kx++) {
          const iy = oy * s + ky - pt;
          const ix = ox * s + kx - pl;
          if (iy >= 0 && iy < p.height && ix >= 0 && ix < p.width) sum += p.values[iy * p.width + ix] * k.values[ky * k.cols + kx];
        }
      }
      out[oy * ow + ox] = sum;
    }
  }
  return { values: out, width: ow, height: oh };
}

describe('output size arithmetic', () => {
  test('(I + 2P - K)/S + 1 with the numbers filled in', () => {
    const g = axisGeometry('width', 7, 3, 2, 1);
    expect(g.output).toBe(4);
    expect(g.formula).toBe('(7 + 2*1 - 3)/2 + 1 = 4');
    expect(axisGeometry('width', 224, 3, 1, 'same')).toMatchObject({ output: 224, padBefore: 1, padAfter: 1 });
    // TensorFlow's 'same' with stride 2 on an even side: one zero, after.
    expect(axisGeometry('width', 224, 3, 2, 'same')).toMatchObject({ output: 112, padBefore: 0, padAfter: 1 });
    expect(axisGeometry('width', 6, 4, 1, 'valid').output).toBe(3);
  });

  test('a remainder is floored and said, or refused under --exact with the formula', () => {
    const g = axisGeometry('width', 8, 3, 2, 0);
    expect(g).toMatchObject({ output: 3, exact: false });
    expect(g.formula).toMatch(/floor\(5\/2\) \+ 1 = 3 \(1 left over\)/);
    expect(() => axisGeometry('width', 8, 3, 2, 0, true)).toThrow(UsageError);
    expect(() => axisGeometry('width', 8, 3, 2, 0, true)).toThrow(/\(I \+ 2P - K\)\/S \+ 1 = \(8 \+ 2\*0 - 3\)\/2 \+ 1 = 3\.50 is not a whole number/);
  });

  test('a kernel larger than the padded input is a usage error showing the formula', () => {
    expect(() => axisGeometry('height', 4, 7, 1, 1)).toThrow(/height: kernel 7 is larger than the padded input 6: \(I \+ 2P - K\)\/S \+ 1 = \(4 \+ 2\*1 - 7\)\/1 \+ 1 = 0 < 1/);
  });

  test('the description prints one line per axis only when the axes differ', () => {
    expect(describeGeometry(windowGeometry({ width: 5, height: 5 }, { rows: 3, cols: 3 }, 1, 0))).toEqual([
      'input 5x5, kernel 3x3, stride 1, padding 0 -> output 3x3',
      'output = (I + 2P - K)/S + 1 = (5 + 2*0 - 3)/1 + 1 = 3',
    ]);
    expect(describeGeometry(windowGeometry({ width: 6, height: 5 }, { rows: 3, cols: 3 }, 1, 0))).toHaveLength(3);
  });
});

describe('kernels and matrices', () => {
  test('every preset parses; matrices take fractions and any size', () => {
    for (const n of KERNEL_NAMES) expect(parseKernel(n).values.length).toBe(9);
    expect(parseKernel('sobel-x').values).toEqual(Float32Array.from([-1, 0, 1, -2, 0, 2, -1, 0, 1]));
    const k = parseKernel('1/4, 1/4; 1/4, 1/4');
    expect(k).toMatchObject({ name: 'custom', rows: 2, cols: 2 });
    expect(Array.from(k.values)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(parseMatrix('1 2 3; 4 5 6', '--matrix')).toMatchObject({ rows: 2, cols: 3 });
    expect(parseKernelList('edges').map((x) => x.name)).toEqual(['sobel-x', 'sobel-y', 'outline', 'emboss']);
  });

  test('bad kernels name the bad value and what is valid', () => {
    expect(() => parseKernel('sobelx')).toThrow(/unknown --kernel 'sobelx': choose one of sobel-x, sobel-y/);
    expect(() => parseKernel('1,2;3')).toThrow(/row 2 has 1 numbers but row 1 has 2/);
    expect(() => parseKernel('1,a;3,4')).toThrow(/'a' is not a number/);
    expect(() => parseKernelList('sobel-x,blurry')).toThrow(/unknown kernel 'blurry' in --kernels/);
  });
});

describe('convolve', () => {
  test('agrees with a loop reference on random images and kernels, strides 1-3, paddings 0-2', () => {
    const rnd = random(7);
    let cases = 0;
    for (const [h, w] of [[9, 11], [16, 16]]) {
      const input: Plane = { values: Float32Array.from({ length: h * w }, rnd), width: w, height: h, channels: 1 };
      for (const [kh, kw] of [[3, 3], [2, 2], [5, 3]]) {
        const kernel = { name: 'custom', rows: kh, cols: kw, values: Float32Array.from({ length: kh * kw }, rnd) };
        for (const stride of [1, 2, 3]) {
          for (const padding of [0, 1, 2]) {
            const { output } = convolve(input, kernel, { stride, padding });
            const ref = referenceConvolution(input, kernel, stride, [padding, padding, padding, padding]);
            expect([output.width, output.height]).toEqual([ref.width, ref.height]);
            for (let i = 0; i < ref.values.length; i++) expect(output.values[i]).toBeCloseTo(ref.values[i], 4);
            cases++;
          }
        }
      }
    }
    expect(cases).toBe(54);
  });

  test("'same' pads like TensorFlow, and --rgb convolves each channel on its own", () => {
    const rnd = random(3);
    const input: Plane = { values: Float32Array.from({ length: 8 * 8 * 3 }, rnd), width: 8, height: 8, channels: 3 };
    const kernel = parseKernel('1,2;3,4');
    const { output, geometry } = convolve(input, kernel, { stride: 2, padding: 'same' });
    expect([output.width, output.height, output.channels]).toEqual([4, 4, 3]);
    expect([geometry.width.padBefore, geometry.width.padAfter]).toEqual([0, 0]);
    for (let c = 0; c < 3; c++) {
      const plane: Plane = { values: Float32Array.from({ length: 64 }, (_, i) => input.values[i * 3 + c]), width: 8, height: 8, channels: 1 };
      const ref = referenceConvolution(plane, kernel, 2, [0, 0, 0, 0]);
      for (let i = 0; i < 16; i++) expect(output.values[i * 3 + c]).toBeCloseTo(ref.values[i], 4);
    }
  });

  test('sobel-x on one vertical edge responds only along the edge', () => {
    const w = 12;
    const input: Plane = { values: Float32Array.from({ length: w * 10 }, (_, i) => (i % w >= 6 ? 1 : 0)), width: w, height: 10, channels: 1 };
    const { output } = convolve(input, parseKernel('sobel-x'), { padding: 0 });
    expect([output.width, output.height]).toEqual([10, 8]);
    for (let y = 0; y < output.height; y++) {
      for (let x = 0; x < output.width; x++) {
        // Output column x sees input columns x..x+2: the edge between 5 and 6 is inside for x = 4, 5.
        const v = output.values[y * output.width + x];
        if (x === 4 || x === 5) expect(v).toBeCloseTo(4, 5);
        else expect(v).toBe(0);
      }
    }
    // Nothing negative here, so it is drawn in gray: black away from the edge, white on it.
    const img = responseToRaster(output);
    const rgb = (x: number) => Array.from(img.data.subarray(3 * x, 3 * x + 3));
    expect([rgb(0), rgb(4)]).toEqual([[0, 0, 0], [255, 255, 255]]);
  });

  test('activations: relu clears the negative half, sigmoid maps 0 to 0.5', () => {
    expect(Array.from(applyActivation(Float32Array.from([-2, 0, 3]), 'relu'))).toEqual([0, 0, 3]);
    expect(applyActivation(Float32Array.from([0]), 'sigmoid')[0]).toBeCloseTo(0.5);
    expect(activationFn('leaky-relu').fn(-10)).toBeCloseTo(-1);
    expect(activationFn('relu6').fn(9)).toBe(6);
    expect(() => activationFn('softplus')).toThrow(/unknown activation 'softplus': choose one of relu, sigmoid/);
  });

  test('a signed response is drawn blue below zero, white at zero and red above', () => {
    const p = planeFromMatrix(parseMatrix('-2,0,2', '--matrix'));
    const img = responseToRaster(p);
    const [neg, zero, pos] = [0, 1, 2].map((i) => Array.from(img.data.subarray(3 * i, 3 * i + 3)));
    expect(neg[2]).toBeGreaterThan(neg[0] + 50);
    expect(pos[0]).toBeGreaterThan(pos[2] + 50);
    expect(Math.min(...zero)).toBeGreaterThan(230);
  });

  test('one response is drawn at exactly its computed size; several make a labelled grid', () => {
    const input: Plane = { values: new Float32Array(20 * 14).fill(0.5), width: 20, height: 14, channels: 1 };
    const one = convolve(input, parseKernel('box'), { stride: 2 });
    expect([convolutionFigure([{ kernel: parseKernel('box'), ...one }]).width]).toEqual([one.output.width]);
    const four = parseKernelList('edges').map((kernel) => ({ kernel, ...convolve(input, kernel) }));
    const grid = convolutionFigure(four);
    const g = gridGeometry({ width: 18, height: 12 }, 4, { cols: 2, gutter: 4, labels: ['x'] });
    expect([grid.width, grid.height]).toEqual([g.width, g.height]);
  });
});

describe('pool', () => {
  test("2x2 max pooling with stride 2 on the tutorial's 4x4 example", () => {
    const input = planeFromMatrix(parseMatrix('1,1,2,4; 5,6,7,8; 3,2,1,0; 1,2,3,4', '--matrix'));
    const { output, geometry } = pool(input, { size: 2, stride: 2, mode: 'max' });
    expect([output.width, output.height]).toEqual([2, 2]);
    expect(Array.from(output.values)).toEqual([6, 8, 3, 4]);
    expect(geometry.width.formula).toBe('(4 + 2*0 - 2)/2 + 1 = 2');
    expect(Array.from(pool(input, { size: 2, mode: 'avg' }).output.values)).toEqual([3.25, 5.25, 2, 2]);
  });

  test('pooling a colour image halves it per channel; the figure puts input and outputs side by side', () => {
    const values = Float32Array.from({ length: 6 * 4 * 3 }, (_, i) => (i % 3) / 2);
    const input: Plane = { values, width: 6, height: 4, channels: 3 };
    const { output } = pool(input, { size: 2 });
    expect([output.width, output.height, output.channels]).toEqual([3, 2, 3]);
    expect(Array.from(output.values.subarray(0, 3))).toEqual([0, 0.5, 1]);
    const fig = poolFigure(input, output, 2, [0, 1], 1);
    expect(fig.width).toBe(gridGeometry({ width: 6, height: 4 }, 3, { cols: 3, gutter: 4, labels: ['x'] }).width);
    expect(() => pool(input, { size: 5 })).toThrow(/height: kernel 5 is larger than the padded input 4/);
  });
});

describe('channels', () => {
  test('the planes are tinted with their colour, or gray, beside the original', async () => {
    const img = createRaster(8, 6, 3);
    for (let i = 0; i < 48; i++) img.data.set([200, 100, 50], 3 * i);
    const fig = await channelsFigure(img, { resolutions: [4] });
    expect(fig.channels.map((c) => c.mean)).toEqual([200, 100, 50]);
    expect(fig.resolutions).toEqual([{ pixels: 4, width: 4, height: 3 }]);
    const g = gridGeometry(img, 5, { cols: 4, gutter: 4, labels: ['x'] });
    expect([fig.raster.width, fig.raster.height]).toEqual([g.width, g.height]);
    const px = (tile: number) => Array.from(fig.raster.data.subarray(((g.origin(tile).y + 1) * fig.raster.width + g.origin(tile).x + 1) * 3).subarray(0, 3));
    expect([px(1), px(2), px(3)]).toEqual([[200, 0, 0], [0, 100, 0], [0, 0, 50]]);
    const gray = await channelsFigure(img, { gray: true });
    const gg = gridGeometry(img, 4, { cols: 4, gutter: 4, labels: ['x'] });
    const o = gg.origin(2);
    expect(Array.from(gray.raster.data.subarray((o.y * gray.raster.width + o.x) * 3).subarray(0, 3))).toEqual([100, 100, 100]);
    await expect(channelsFigure(img, { resolutions: [9] })).rejects.toThrow(/bad --resolution 9: expected 1 to 8/);
  });
});

describe('learned kernels', () => {
  function convModel(): tf.LayersModel {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'rgbconv' }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, name: 'dw' }));
    m.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'deep' }));
    m.add(tf.layers.flatten({ name: 'flat' }));
    return m;
  }

  test('a 3-input conv is drawn as one RGB tile per filter, weight 0 at mid-gray', () => {
    const loaded = fromLayersModel(convModel(), 'mem', { labels: [] } as never);
    const layer = loaded.graph.layers.find((l) => l.name === 'rgbconv')!;
    const w = new Float32Array(3 * 3 * 3 * 4);
    // Filter 0: +1 on red at the top-left tap, -1 on blue there; everything else 0.
    w[0 * 12 + 0 * 4 + 0] = 1;
    w[0 * 12 + 2 * 4 + 0] = -1;
    layer.layer.setWeights([tf.tensor4d(w, [3, 3, 3, 4]), tf.zeros([4])]);
    const k = learnedKernels(layer);
    expect(k).toMatchObject({ kh: 3, kw: 3, inputs: 3, filters: 4 });
    const { raster, mode } = kernelsFigure(k, { tileSize: 3 });
    expect(mode).toBe('rgb');
    const g = gridGeometry({ width: 3, height: 3 }, 4, { gutter: 4, labels: ['0'] });
    expect([raster.width, raster.height]).toEqual([g.width, g.height]);
    const at = (x: number, y: number) => Array.from(raster.data.subarray((y * raster.width + x) * 3, (y * raster.width + x) * 3 + 3));
    expect(at(g.origin(0).x, g.origin(0).y)).toEqual([255, 128, 0]);
    expect(at(g.origin(0).x + 1, g.origin(0).y)).toEqual([128, 128, 128]);
  });

  test('depthwise and deep layers become per-input grids or channel means; non-conv is a usage error', () => {
    const loaded = fromLayersModel(convModel(), 'mem', { labels: [] } as never);
    const by = (n: string) => loaded.graph.layers.find((l) => l.name === n)!;
    // 4 channels in, depth multiplier 2: 8 single-input filters.
    expect(learnedKernels(by('dw'))).toMatchObject({ kh: 2, kw: 2, inputs: 1, filters: 8 });
    const deep = learnedKernels(by('deep'));
    expect(deep).toMatchObject({ inputs: 8, filters: 5 });
    expect(kernelsFigure(deep).mode).toBe('per-input');
    const mean = kernelsFigure(deep, { reduce: 'mean', tileSize: 3 });
    expect(mean.raster.width).toBe(gridGeometry({ width: 3, height: 3 }, 5, { gutter: 4 }).width);
    expect(() => learnedKernels(by('flat'), loaded.graph.layers)).toThrow(/layer \d+ 'flat' is a Flatten, not a convolution: kernels needs one of Conv2D.*\(conv layers: 0 rgbconv, 1 dw, 2 deep\)/);
  });

  test('the edge model helper: filter 0 is the vertical-edge detector', () => {
    const loaded = fromLayersModel(edgeModel(), 'mem', { labels: [] } as never);
    const k = learnedKernels(loaded.graph.layers[0]);
    expect(Array.from({ length: 9 }, (_, p) => k.weights[p * 2])).toEqual([-1, 0, 1, -2, 0, 2, -1, 0, 1]);
  });
});

describe('plot', () => {
  const inkAt = (img: { data: Uint8Array; width: number }, x: number, y: number) => Array.from(img.data.subarray((Math.round(y) * img.width + Math.round(x)) * 3).subarray(0, 3));

  test.each(['svg', 'bitmap'] as const)('the relu curve sits where it should and labels have ink (%s text)', async (text) => {
    const plot = await plotActivations(['relu'], { text });
    expect(plot.text).toBe(text);
    expect([plot.raster.width, plot.raster.height]).toEqual([480, 320]);
    // The reddest pixel within one pixel of (3, relu(3)) is the curve's colour.
    const p = plot.toPixel(3, 3);
    const near = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => inkAt(plot.raster, p.x + dx, p.y + dy)));
    const [r, g, b] = near.sort((u, v) => v[0] - v[1] - v[2] - (u[0] - u[1] - u[2]))[0];
    expect(r).toBeGreaterThan(180);
    expect(g + b).toBeLessThan(150);
    expect(plot.functions[0].samples.find((s) => s.x === -4)?.y).toBe(0);
    // Tick labels under the axis: dark pixels in the strip below the plot area.
    const below = plot.toPixel(0, plot.yRange[0]).y + 4;
    let dark = 0;
    for (let y = Math.ceil(below); y < plot.raster.height; y++) for (let x = 0; x < plot.raster.width; x++) if (inkAt(plot.raster, x, y)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(30);
  });

  test('several functions share one chart; unknown names are usage errors', async () => {
    const plot = await plotActivations(['sigmoid', 'tanh'], { text: 'bitmap', xRange: [-4, 4] });
    expect(plot.yRange[0]).toBeLessThan(-1);
    expect(plot.functions.map((f) => f.name)).toEqual(['sigmoid', 'tanh']);
    await expect(plotActivations(['swish'])).rejects.toThrow(/unknown activation 'swish'/);
  });
});

test('no tensors leak from convolve and pool', () => {
  const input: Plane = { values: new Float32Array(64), width: 8, height: 8, channels: 1 };
  convolve(input, parseKernel('sobel-x'));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) {
    convolve(input, parseKernel('sobel-x'), { stride: 2, padding: 1 });
    pool(input, { size: 2 });
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('-o naming a pipe or device writes through it instead of renaming a file over it', async () => {
  // `-o /dev/null` once replaced the device with a regular file; a FIFO checks the same path safely.
  const fifo = path.join(tempDir(), 'out.png');
  execFileSync('mkfifo', [fifo]);
  const reading = fs.readFile(fifo);
  await writeFileAtomic(fifo, Buffer.from('png bytes'));
  expect((await reading).toString()).toBe('png bytes');
  expect(statSync(fifo).isFIFO()).toBe(true);
});
