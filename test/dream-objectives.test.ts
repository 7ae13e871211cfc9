import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { difference, negate, scale, sum } from '../src/dream/objectives/algebra.js';
import { caricature } from '../src/dream/objectives/caricature.js';
import { alignment, diversity, gramForm, gramProducts } from '../src/dream/objectives/group.js';
import { readKey, type Objective, type ObjectiveEnv, type ObjectiveInputs, type Read } from '../src/dream/objectives/objective.js';
import { l1, l2, tv } from '../src/dream/objectives/penalties.js';
import { channel, channelInterpolate, deepdream, direction, logit, meanOver, neuron } from '../src/dream/objectives/units.js';

/**
 * Every dream objective on a network built by hand (issue 16, acceptance 4), so each answer is
 * known in closed form: the optimum of a linear channel, the receptive field of a neuron, the
 * gradient of a mean square, the scores of identical and lone pictures. Nothing here loads a
 * model; the "network" is a few tf ops with weights set below.
 */

const L1: Read = { layer: 1 }; // the linear 3x3 conv, 3 → 2 channels, 'valid'
const L2: Read = { layer: 2 }; // relu of L1
const L3: Read = { layer: 3 }; // relu of the conv on the picture centred on 0.5, where both channels fire
const LOGITS: Read = { logits: true }; // a dense layer on the flattened L2

/** The conv's weight for offset (dy, dx), input channel c, output channel u: irrational, so no pixel's summed weight is 0. */
const weight = (dy: number, dx: number, c: number, u: number): number => Math.sin(7 * dy + 13 * dx + 5 * c + 2 + 3 * u);

function kernel(): tf.Tensor4D {
  const k = new Float32Array(3 * 3 * 3 * 2);
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) for (let c = 0; c < 3; c++) for (let u = 0; u < 2; u++) k[((dy * 3 + dx) * 3 + c) * 2 + u] = weight(dy, dx, c, u);
  return tf.tensor4d(k, [3, 3, 3, 2]);
}

/** Read key → activations of `image`. The dense head is sized for 6x6 pictures (4x4x2 → 3 classes). */
type Net = (image: tf.Tensor4D) => Map<string, tf.Tensor>;

let K: tf.Tensor4D;
let DENSE: tf.Tensor2D;
const net: Net = (image) => {
  const a = tf.conv2d(image, K, 1, 'valid');
  const r = tf.relu(a);
  const acts = new Map<string, tf.Tensor>([
    [readKey(L1), a],
    [readKey(L2), r],
    [readKey(L3), tf.relu(tf.conv2d(image.sub(0.5) as tf.Tensor4D, K, 1, 'valid'))],
  ]);
  if (r.shape[1] === 4 && r.shape[2] === 4) acts.set(readKey(LOGITS), r.reshape([r.shape[0], -1]).matMul(DENSE));
  return acts;
};

/**
 * The inputs a render would hand `o`: `read` refuses anything `o` did not list in its reads, so
 * every test also checks that an objective declares what it reads.
 */
function inputsFor(o: Objective, acts: Map<string, tf.Tensor> | ((r: Read) => tf.Tensor), image: tf.Tensor4D, groups?: number[]): ObjectiveInputs {
  const declared = new Set(o.reads.map(readKey));
  return {
    read: (r) => {
      if (!declared.has(readKey(r))) throw new Error(`${o.text} read ${readKey(r)} without declaring it`);
      const t = typeof acts === 'function' ? acts(r) : acts.get(readKey(r));
      if (!t) throw new Error(`the test net has no ${readKey(r)}`);
      return t;
    },
    image,
    groups: groups ?? Array.from({ length: image.shape[0] }, (_, i) => i),
  };
}

/** Scores of `o` on `image` through `net`, [B]. */
const score = (o: Objective, image: tf.Tensor4D, groups?: number[]): tf.Tensor1D => o.evaluate(inputsFor(o, net(image), image, groups));
const values = (o: Objective, image: tf.Tensor4D, groups?: number[]): number[] => tf.tidy(() => Array.from(score(o, image, groups).dataSync()));
/** d(sum of scores)/d(picture). */
const gradient = (o: Objective, image: tf.Tensor4D, groups?: number[]): tf.Tensor4D => tf.grad((x: tf.Tensor) => score(o, x as tf.Tensor4D, groups).sum())(image) as tf.Tensor4D;

/** Plain box-constrained ascent: Adam on the picture, clipped to [0, 1] after each step. */
function ascend(o: Objective, start: tf.Tensor4D, steps: number, lr = 0.05, groups?: number[]): tf.Tensor4D {
  const v = tf.variable(start);
  const opt = tf.train.adam(lr);
  for (let i = 0; i < steps; i++) {
    opt.minimize(() => score(o, v as unknown as tf.Tensor4D, groups).sum().neg() as tf.Scalar, false, [v]);
    tf.tidy(() => v.assign(v.clipByValue(0, 1) as tf.Tensor4D));
  }
  const out = v.clone() as unknown as tf.Tensor4D;
  v.dispose();
  opt.dispose();
  return out;
}

const rand = (shape: [number, number, number, number], seed: number): tf.Tensor4D => tf.randomUniform(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
/** A [B, 1, 1, C] activation from rows of numbers, for tests that hand-feed a read. */
const acts4 = (rows: number[][]): tf.Tensor4D => tf.tensor4d(rows.flat(), [rows.length, 1, 1, rows[0].length]);
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, digits = 4): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], digits);
};

beforeAll(async () => {
  await initBackend('wasm');
  K = kernel();
  DENSE = tf.tensor2d(Array.from({ length: 32 * 3 }, (_, i) => Math.cos(i * 1.7)), [32, 3]);
});
afterAll(() => {
  K.dispose();
  DENSE.dispose();
});

describe('meanOver (the mean the unit objectives take)', () => {
  test.each([[[1, 2]], [[1]], [[0, 3]]])('over axes %j: the value and gradient of tf.mean, float for float', (axes) => {
    const x = tf.randomNormal([2, 5, 3, 4], 0, 1, 'float32', 11);
    const w = tf.randomNormal(tf.mean(x, axes).shape, 0, 1, 'float32', 12);
    const ours = (t: tf.Tensor) => meanOver(t, axes);
    const theirs = (t: tf.Tensor) => tf.mean(t, axes);
    expect(Array.from(ours(x).dataSync())).toEqual(Array.from(theirs(x).dataSync()));
    const grad = (f: (t: tf.Tensor) => tf.Tensor) => Array.from(tf.grad((t: tf.Tensor) => f(t).mul(w).sum())(x).dataSync());
    const g = grad(ours);
    expect(g).toEqual(grad(theirs));
    expect(new Set(g).size).toBeGreaterThan(1); // dy differs per kept element, so a broadcast shows
    tf.dispose([x, w]);
  });
});

describe('channel', () => {
  /**
   * The mean of a linear channel is Σ_p coef_p · x_p over pixels, coef_p = (1/N) Σ of the kernel
   * weights that touch p. Over [0, 1] the optimum is 1 where coef_p > 0 and 0 where it is < 0.
   */
  function summedWeights(h: number, w: number, unit: number): Float32Array {
    const coef = new Float32Array(h * w * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++)
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++) {
              const oy = y - dy;
              const ox = x - dx;
              if (oy >= 0 && oy <= h - 3 && ox >= 0 && ox <= w - 3) coef[(y * w + x) * 3 + c] += weight(dy, dx, c, unit);
            }
    return coef;
  }

  test('the optimum of a linear channel over a [0, 1] picture is its summed kernel weights\' sign pattern', () => {
    const [h, w, unit] = [6, 6, 1];
    const coef = summedWeights(h, w, unit);
    expect(Math.min(...coef.map(Math.abs))).toBeGreaterThan(0.01); // no pixel is left undecided
    const o = channel(L1, unit);
    const start = tf.fill([1, h, w, 3], 0.5) as tf.Tensor4D;
    const best = ascend(o, start, 60);
    const got = best.dataSync();
    const want = coef.map((k) => (k > 0 ? 1 : 0));
    expect(Array.from(got).map((v) => Math.round(v))).toEqual(Array.from(want));
    // ...and the score there is the sum of the positive weights over the grid's N positions.
    const n = (h - 2) * (w - 2);
    expect(values(o, best)[0]).toBeCloseTo(coef.reduce((s, k) => s + Math.max(k, 0), 0) / n, 4);
    // No picture in the box scores higher: the all-ones and all-zeros pictures, and noise, do worse.
    for (const other of [tf.ones([1, h, w, 3]) as tf.Tensor4D, tf.zeros([1, h, w, 3]) as tf.Tensor4D, rand([1, h, w, 3], 3)]) {
      expect(values(o, other)[0]).toBeLessThan(values(o, best)[0]);
      other.dispose();
    }
    tf.dispose([start, best]);
  });

  test('is the mean over positions; border leaves a frame out, and is ignored when the grid is too small for it', () => {
    // 4x4 grid: 100 on the frame, 1..4 inside; channel 1 is its negative.
    const grid = [
      [100, 100, 100, 100],
      [100, 1, 2, 100],
      [100, 3, 4, 100],
      [100, 100, 100, 100],
    ].flat();
    const a = tf.tensor4d(grid.flatMap((v) => [v, -v]), [1, 4, 4, 2]);
    const run = (o: Objective) => tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => a, a)).dataSync()));
    expectClose(run(channel(L1, 0)), [(12 * 100 + 10) / 16]);
    expectClose(run(channel(L1, 0, { border: 1 })), [2.5]);
    expectClose(run(channel(L1, 1, { border: 1 })), [-2.5]);
    expectClose(run(channel(L1, 0, { border: 2 })), [(12 * 100 + 10) / 16]); // 4 ≤ 2·2: the whole grid
    a.dispose();
  });

  test('border takes the frame\'s pixels out of the gradient', () => {
    // 8x8 picture → 6x6 grid; border 2 keeps the middle 2x2 outputs, which see only pixels 2..5.
    const image = rand([1, 8, 8, 3], 5);
    const g = gradient(channel(L1, 0, { border: 2 }), image);
    const abs = g.abs().sum(3).squeeze() as tf.Tensor2D;
    const rows = abs.arraySync();
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const inside = y >= 2 && y <= 5 && x >= 2 && x <= 5;
      if (inside) expect(rows[y][x]).toBeGreaterThan(0);
      else expect(rows[y][x]).toBe(0);
    }
    tf.dispose([image, g, abs]);
  });

  test('per-picture units pick each picture\'s channel; a unit out of range is named', () => {
    const a = tf.tensor4d([1, 10, 3, 30, 2, 20, 4, 40], [2, 2, 1, 2]); // picture 0: ch0 1,3 ch1 10,30; picture 1: ch0 2,4 ch1 20,40
    const o = channel(L1, [1, 0]);
    expectClose(tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => a, a)).dataSync())), [20, 3]);
    const bad = channel(L1, [0, 2]);
    expect(() => tf.tidy(() => bad.evaluate(inputsFor(bad, () => a, a)))).toThrow(/unit 2 out of range 0-1 for picture 1/);
    a.dispose();
  });

  test('relu takes the positive part first; a read without a grid gives the unit\'s value', () => {
    const a = tf.tensor4d([-3, 0, 1, 0, -1, 0, 5, 0], [1, 2, 2, 2]);
    const run = (o: Objective, t: tf.Tensor) => tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => t, a)).dataSync()));
    expectClose(run(channel(L1, 0), a), [0.5]);
    expectClose(run(channel(L1, 0, { relu: true }), a), [1.5]);
    const dense = tf.tensor2d([[7, -2, 4]]);
    expectClose(run(channel(LOGITS, 2), dense), [4]);
    tf.dispose([a, dense]);
  });
});

describe('neuron', () => {
  /** The pixels with non-zero gradient, as "y:x". */
  function support(o: Objective, image: tf.Tensor4D): { cells: string[]; g: number[][][] } {
    const g = gradient(o, image);
    const arr = (g.squeeze([0]) as tf.Tensor3D).arraySync();
    g.dispose();
    const cells: string[] = [];
    arr.forEach((row, y) => row.forEach((px, x) => px.some((v) => v !== 0) && cells.push(`${y}:${x}`)));
    return { cells, g: arr };
  }
  const block = (y0: number, x0: number): string[] => [0, 1, 2].flatMap((dy) => [0, 1, 2].map((dx) => `${y0 + dy}:${x0 + dx}`));

  test('only the receptive field of `at` gets gradient, and it is the kernel', () => {
    const image = rand([1, 7, 9, 3], 8); // grid 5 rows × 7 columns
    const { cells, g } = support(neuron(L1, 1, [0, 1]), image); // x = 0, y = 1
    expect(cells).toEqual(block(1, 0));
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) expectClose(g[1 + dy][dx], [0, 1, 2].map((c) => weight(dy, dx, c, 1)), 5);
    image.dispose();
  });

  test('by default `at` is the centre of the grid the picture makes', () => {
    const image = rand([1, 7, 9, 3], 9); // grid 5 × 7: centre x = 3, y = 2
    expect(support(neuron(L1, 0), image).cells).toEqual(block(2, 3));
    const big = rand([1, 11, 11, 3], 10); // grid 9 × 9: centre 4, 4
    expect(support(neuron(L1, 0), big).cells).toEqual(block(4, 4));
    tf.dispose([image, big]);
  });

  test('value is the activation at `at`', () => {
    const image = rand([1, 6, 6, 3], 11);
    const a = tf.conv2d(image, K, 1, 'valid');
    expect(values(neuron(L1, 1, [3, 0]), image)[0]).toBeCloseTo(a.arraySync()[0][0][3][1], 5);
    tf.dispose([image, a]);
  });
});

describe('logit', () => {
  test('reads the class scores and picks the class; its gradient is that class\'s column through the net', () => {
    const o = logit(2);
    expect(o.reads).toEqual([{ logits: true }]);
    expect(o.text).toBe('logit(2)');
    const image = rand([2, 6, 6, 3], 12);
    const want = tf.tidy(() => Array.from((net(image).get('logits') as tf.Tensor2D).slice([0, 2], [-1, 1]).dataSync()));
    expectClose(values(o, image), want);
    expectClose(values(logit([0, 1]), image), tf.tidy(() => {
      const z = (net(image).get('logits') as tf.Tensor2D).arraySync();
      return [z[0][0], z[1][1]];
    }));
    // Past the relu the logit is linear in L2 with weights DENSE[:, 2].
    const r = tf.tidy(() => net(image).get('layer:2') as tf.Tensor);
    const g = tf.grad((x: tf.Tensor) => logit(2).evaluate(inputsFor(o, () => x.reshape([2, -1]).matMul(DENSE), image)).sum())(r);
    const column = DENSE.slice([0, 2], [-1, 1]).reshape([-1]).dataSync();
    expectClose((g.reshape([2, -1]) as tf.Tensor2D).arraySync()[1], Array.from(column), 5);
    tf.dispose([image, r, g]);
  });
});

describe('deepdream', () => {
  test('value is the mean square of the layer; gradient is 2·a/N', () => {
    const a = tf.tensor4d([1, -2, 3, 0, 0.5, 4, -1, 2], [2, 2, 1, 2]);
    const o = deepdream(L1);
    expectClose(tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => a, a)).dataSync())), [(1 + 4 + 9 + 0) / 4, (0.25 + 16 + 1 + 4) / 4]);
    const g = tf.grad((x: tf.Tensor) => o.evaluate(inputsFor(o, () => x, x as tf.Tensor4D)).sum())(a);
    expectClose(g.dataSync(), Array.from(a.dataSync()).map((v) => (2 * v) / 4), 5);
    tf.dispose([a, g]);
  });
});

describe('direction', () => {
  const image = (): tf.Tensor4D => rand([2, 6, 6, 3], 13);

  test('a one-hot vector is the channel, value and gradient', () => {
    const x = image();
    expectClose(values(direction(L1, [0, 1]), x), values(channel(L1, 1), x), 5);
    const [gd, gc] = [gradient(direction(L1, [0, 1]), x), gradient(channel(L1, 1), x)];
    expectClose(gd.dataSync(), gc.dataSync(), 5);
    tf.dispose([x, gd, gc]);
  });

  test('is linear in the vector', () => {
    const x = image();
    const [u, v] = [values(direction(L1, [1, -2]), x), values(direction(L1, [0.5, 3]), x)];
    const both = values(direction(L1, [1 + 2 * 0.5, -2 + 2 * 3]), x);
    expectClose(both, u.map((ui, i) => ui + 2 * v[i]), 4);
    x.dispose();
  });

  test('a vector of the wrong length names both lengths', () => {
    const x = image();
    expect(() => values(direction(L1, [1, 2, 3]), x)).toThrow(/3 numbers but layer 1 has 2 channels/);
    x.dispose();
  });
});

describe('channel_interpolate', () => {
  test('sets the row\'s length; the first picture is channel a, the last channel b, the middle a mix by place', () => {
    const o = channelInterpolate(L1, 0, L2, 1, 5);
    expect(o.pictures).toBe(5);
    expect(o.reads).toEqual([L1, L2]);
    expect(channelInterpolate(L1, 0, L1, 1).reads).toEqual([L1]); // one read, not two
    expect(channelInterpolate(L1, 0, L1, 1).pictures).toBe(6);
    const x = rand([5, 6, 6, 3], 14);
    const [a, b] = [values(channel(L1, 0), x), values(channel(L2, 1), x)];
    const got = values(o, x);
    for (let i = 0; i < 5; i++) expect(got[i]).toBeCloseTo((1 - i / 4) * a[i] + (i / 4) * b[i], 4);
    expect(got[0]).toBeCloseTo(a[0], 5);
    expect(got[4]).toBeCloseTo(b[4], 5);
    x.dispose();
  });

  test('a batch of another size is refused with both counts', () => {
    const x = rand([3, 6, 6, 3], 15);
    expect(() => values(channelInterpolate(L1, 0, L1, 1, 5), x)).toThrow(/renders 5 pictures, got 3/);
    x.dispose();
  });
});

describe('diversity', () => {
  /**
   * The mean pairwise cosine of the pictures' Gram matrices at L3, computed here in plain
   * numbers. (At L2 channel 1 is dead on [0, 1] pictures, its kernel summing to −11, so every
   * Gram matrix there is one number and every cosine 1.)
   */
  function meanGramCosine(image: tf.Tensor4D): number {
    const a = tf.tidy(() => net(image).get('layer:3') as tf.Tensor4D);
    const [B, h, w, c] = a.shape;
    const data = a.arraySync();
    a.dispose();
    const grams = data.map((pic) => {
      const g = new Array<number>(c * c).fill(0);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) g[i * c + j] += pic[y][x][i] * pic[y][x][j];
      return g;
    });
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    let total = 0;
    let pairs = 0;
    for (let i = 0; i < B; i++)
      for (let j = i + 1; j < B; j++) {
        total += grams[i].reduce((s, x, k) => s + x * grams[j][k], 0) / (norm(grams[i]) * norm(grams[j]));
        pairs++;
      }
    return total / pairs;
  }

  test('identical pictures in one group score 1; a picture alone in its group scores 0; other groups are not compared', () => {
    const one = rand([1, 6, 6, 3], 16);
    const other = rand([1, 6, 6, 3], 17);
    const x = tf.concat([one, one, other, other, one]) as tf.Tensor4D;
    const o = diversity(L3);
    // Groups 0 = {0, 1}, 1 = {2, 3}, 2 = {4}: each pair is identical, picture 4 is alone though it equals 0 and 1.
    expectClose(values(o, x, [0, 0, 1, 1, 2]), [1, 1, 1, 1, 0]);
    // Default groups: every picture alone.
    expectClose(values(o, x), [0, 0, 0, 0, 0]);
    // Two different pictures in one group score their cosine, below 1, and the same for both.
    const two = tf.concat([one, other]) as tf.Tensor4D;
    const pair = values(o, two, [0, 0]);
    expect(pair[0]).toBeLessThan(0.999);
    expect(pair[0]).toBeCloseTo(pair[1], 5);
    expect(pair[0]).toBeCloseTo(meanGramCosine(two), 4);
    tf.dispose([one, other, x, two]);
  });

  test('the Gram form and the positions form give the same Gram inner products and gradients; deep layers take the positions form', () => {
    const a = tf.randomUniform([4, 3, 5, 7], 0, 2, 'float32', 30) as tf.Tensor4D;
    // A weighted sum of the products, so every entry is checked through the gradient too.
    const weights = tf.randomUniform([4, 4], -1, 1, 'float32', 31);
    const loss = (form: 'gram' | 'positions') => (x: tf.Tensor) => gramProducts(x, form).mul(weights).sum();
    const [pg, pp] = [gramProducts(a, 'gram'), gramProducts(a, 'positions')];
    const [gg, gp] = [tf.grad(loss('gram'))(a), tf.grad(loss('positions'))(a)];
    const scaleOf = (t: tf.Tensor) => t.abs().max().dataSync()[0];
    expect(tf.sub(pg, pp).abs().max().dataSync()[0] / scaleOf(pg)).toBeLessThan(1e-5);
    expect(tf.sub(gg, gp).abs().max().dataSync()[0] / scaleOf(gg)).toBeLessThan(1e-5);
    // The diagonal is each Gram matrix's squared norm: picture 0's, summed here by hand.
    const f = a.slice([0], [1]).reshape([15, 7]).arraySync() as number[][];
    let sq = 0;
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) sq += f.reduce((s, row) => s + row[i] * row[j], 0) ** 2;
    expect(pg.arraySync()[0][0] / sq).toBeCloseTo(1, 5);
    // MobileNet 0.25's conv_pw_13 at 128 px (4x4x256) and conv_pw_7 (8x8x128): positions; a 28x28x64 layer: Gram.
    expect([gramForm(6, 16, 256), gramForm(6, 64, 128), gramForm(6, 784, 64)]).toEqual(['positions', 'positions', 'gram']);
    tf.dispose([a, weights, pg, pp, gg, gp]);
  });

  test('ascent on −diversity lowers the mean pairwise Gram cosine of a group', () => {
    // Four near-copies of one picture: at the start their styles are almost the same.
    const base = rand([1, 8, 8, 3], 18);
    const start = tf.tidy(() => base.tile([4, 1, 1, 1]).add(tf.randomUniform([4, 8, 8, 3], -0.05, 0.05, 'float32', 19)).clipByValue(0, 1)) as tf.Tensor4D;
    const before = meanGramCosine(start);
    const pushed = ascend(negate(diversity(L3)), start, 40, 0.05, [0, 0, 0, 0]);
    const after = meanGramCosine(pushed);
    expect(before).toBeGreaterThan(0.99);
    expect(after).toBeLessThan(0.75 * before); // acceptance 3 asks a real render for 25% lower
    tf.dispose([base, start, pushed]);
  });

  test('keep=k releases a picture from every pair as its score falls from k + 0.1 to k of its group best', () => {
    // Three identical pictures (every cosine 1) whose scores are handed in as a difference would.
    const one = rand([1, 6, 6, 3], 20);
    const x = tf.concat([one, one, one, one]) as tf.Tensor4D;
    const o = diversity(L3, 0.75);
    const withScores = (scores: number[], groups: number[]) =>
      tf.tidy(() => {
        const acts = net(x);
        return Array.from(o.evaluate({ ...inputsFor(o, acts, x, groups), score: tf.tensor1d(scores) }).dataSync());
      });
    // Picture 2 at 0.75 of the best: released, so 0 itself and the others' pairs with it count 0.
    expectClose(withScores([10, 10, 7.5, 1], [0, 0, 0, 1]), [0.5, 0.5, 0, 0]);
    // At 0.8: half a push, in its own term and in the others' pairs with it.
    expectClose(withScores([10, 10, 8, 1], [0, 0, 0, 1]), [0.75, 0.75, 0.5, 0]);
    // Picture 3 is alone; the others are all above 0.85 of their best: Lucid's term unchanged.
    expectClose(withScores([10, 9, 8.6, 1], [0, 0, 0, 1]), values(diversity(L3), x, [0, 0, 0, 1]));
    // A group whose best score is not positive is not guarded.
    expectClose(withScores([-1, -2, -3, 1], [0, 0, 0, 1]), [1, 1, 1, 0]);
    // Outside a difference there is no score, and keep changes nothing.
    expectClose(values(o, x, [0, 0, 0, 1]), [1, 1, 1, 0]);
    tf.dispose([one, x]);
  });

  test('in a − w·diversity(keep), a released picture is moved by its own objective alone, the others still pushed apart', () => {
    // Picture 1 is a dim copy of picture 0, its channel mean far below 0.75 of the group best; picture 2 a near copy.
    const bright = rand([1, 6, 6, 3], 21);
    const x = tf.concat([bright, bright.mul(0.6).add(0.2), bright.add(rand([1, 6, 6, 3], 22).mul(0.02)).clipByValue(0, 1)]) as tf.Tensor4D;
    const target = channel(L3, 0);
    const scores = values(target, x);
    expect(scores[1] / Math.max(...scores)).toBeLessThan(0.75);
    expect(scores[2] / Math.max(...scores)).toBeGreaterThan(0.85);
    const guarded = difference(target, scale(5, diversity(L3, 0.75)));
    const unguarded = difference(target, scale(5, diversity(L3)));
    const [g, alone, lucid] = [gradient(guarded, x, [0, 0, 0]), gradient(target, x), gradient(unguarded, x, [0, 0, 0])];
    const row = (t: tf.Tensor4D, i: number) => Array.from(t.slice([i], [1]).dataSync());
    // The released picture: exactly its objective's gradient.
    expectClose(row(g, 1), row(alone, 1), 5);
    // Without the guard, diversity does push it.
    expect(Math.max(...row(lucid, 1).map((v, k) => Math.abs(v - row(alone, 1)[k])))).toBeGreaterThan(1e-3);
    // The pictures that keep their score are still pushed apart.
    expect(Math.max(...row(g, 0).map((v, k) => Math.abs(v - row(alone, 0)[k])))).toBeGreaterThan(1e-3);
    tf.dispose([bright, x, g, alone, lucid]);
  });
});

describe('alignment', () => {
  const run = (o: Objective, a: tf.Tensor4D, groups?: number[]) => tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => a, a, groups)).dataSync()));

  test('identical neighbours score 0', () => {
    const a = acts4([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expectClose(run(alignment(L1), a, [0, 0, 0]), [0, 0, 0]);
    a.dispose();
  });

  test('the d-th neighbour\'s mean squared distance is weighted 1/decay^d', () => {
    // Constant pictures 0, 1, 3: distances d(0,1) = 1, d(1,2) = 4, d(0,2) = 9.
    const a = acts4([[0, 0], [1, 1], [3, 3]]);
    expectClose(run(alignment(L1), a, [0, 0, 0]), [1 / 2 + 9 / 4, 1 / 2 + 4 / 2, 4 / 2 + 9 / 4]);
    expectClose(run(alignment(L1, 3), a, [0, 0, 0]), [1 / 3 + 9 / 9, 1 / 3 + 4 / 3, 4 / 3 + 9 / 9]);
    expect(alignment(L1, 3).text).toBe('alignment(1, decay=3)');
    a.dispose();
  });

  test('pictures of different groups are not compared; neighbours past the 4th are not charged', () => {
    const a = acts4([[0, 0], [1, 1], [3, 3]]);
    expectClose(run(alignment(L1), a, [0, 1, 1]), [0, 4 / 2, 4 / 2]);
    expectClose(run(alignment(L1), a), [0, 0, 0]);
    const six = acts4([[0], [0], [0], [0], [0], [1]]);
    expectClose(run(alignment(L1), six, [0, 0, 0, 0, 0, 0]), [0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1 / 2 + 1 / 4 + 1 / 8 + 1 / 16]);
    tf.dispose([a, six]);
  });
});

describe('tv, l1, l2', () => {
  const run = (o: Objective, image: tf.Tensor4D) => tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => image, image)).dataSync()));
  /** 4x4 picture, all three channels the same, from a function of (y, x). */
  const picture = (f: (y: number, x: number) => number): tf.Tensor4D =>
    tf.tensor4d(Array.from({ length: 16 }, (_, i) => f(Math.floor(i / 4), i % 4)).flatMap((v) => [v, v, v]), [1, 4, 4, 3]);

  test('tv is 0 on a flat picture, 2 on a 0/1 checkerboard, 1 on stripes; it reads nothing', () => {
    const flat = picture(() => 0.3);
    const checker = picture((y, x) => (y + x) % 2);
    const stripes = picture((y) => y % 2);
    const ramp = picture((_, x) => x / 4); // steps of 1/4 to the right, none down
    expect(tv().reads).toEqual([]);
    expectClose(run(tv(), flat), [0]);
    expectClose(run(tv(), checker), [2]);
    expectClose(run(tv(), stripes), [1]);
    expectClose(run(tv(), ramp), [0.25]);
    expectClose(run(tv(), tf.concat([flat, checker]) as tf.Tensor4D), [0, 2]);
    tf.dispose([flat, checker, stripes, ramp]);
  });

  test('l1 and l2 against a constant, of the picture or of a layer', () => {
    const grey = picture(() => 0.25);
    const checker = picture((y, x) => (y + x) % 2);
    expectClose(run(l1(), grey), [0.25]);
    expectClose(run(l1(1), grey), [0.75]);
    expectClose(run(l1(0.5), checker), [0.5]);
    expectClose(run(l2(0.5), checker), [0.5]);
    expectClose(run(l2(), checker), [Math.sqrt(0.5)]);
    expectClose(run(l2(0.25), grey), [0], 5);
    expect(l1(0.5).text).toBe('l1(input, c=0.5)');
    // On a layer: reads it, and measures it rather than the picture.
    const o = l1(0, L1);
    expect(o.reads).toEqual([L1]);
    const layer = tf.tensor4d([-2, 2, -4, 4], [1, 2, 2, 1]);
    expectClose(tf.tidy(() => Array.from(o.evaluate(inputsFor(o, () => layer, grey)).dataSync())), [3]);
    tf.dispose([grey, checker, layer]);
  });

  test('l2\'s gradient stays finite where the picture equals the constant', () => {
    const grey = picture(() => 0.25);
    const g = tf.grad((x: tf.Tensor) => l2(0.25).evaluate(inputsFor(l2(0.25), () => x, x as tf.Tensor4D)).sum())(grey);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([grey, g]);
  });
});

describe('caricature', () => {
  /** Runs the hand-built net on one picture, as a render's env would run the model. */
  const env: ObjectiveEnv = {
    activations: (picture, r) =>
      tf.tidy(() => {
        const acts = net(picture);
        const t = acts.get(readKey(r)) as tf.Tensor;
        return tf.keep(t.clone());
      }),
  };

  test('a few ascent steps from noise raise the dot product with the photo\'s activations', () => {
    const photo = rand([1, 8, 8, 3], 20);
    const ref = tf.tidy(() => net(photo).get('layer:2') as tf.Tensor);
    const dotWithPhoto = (x: tf.Tensor4D): number => tf.tidy(() => (net(x).get('layer:2') as tf.Tensor).mul(ref).sum().dataSync()[0]);
    const o = caricature(L2, env, photo);
    const noise = rand([1, 8, 8, 3], 21);
    const dreamed = ascend(o, noise, 20);
    expect(dotWithPhoto(dreamed)).toBeGreaterThan(dotWithPhoto(noise) * 1.2);
    // The score is that dot product per position of the grid.
    expect(values(o, dreamed)[0]).toBeCloseTo(dotWithPhoto(dreamed) / (6 * 6 * 2), 3);
    // On the photo itself it is the photo's mean square at the layer; cossim 1 leaves it (cos = 1).
    const selfDot = tf.tidy(() => ref.square().mean().dataSync()[0]);
    expect(values(o, photo)[0]).toBeCloseTo(selfDot, 4);
    const cos = caricature(L2, env, photo, 1);
    expect(values(cos, photo)[0]).toBeCloseTo(selfDot, 4);
    expect(cos.text).toBe('caricature(2, cossim=1)');
    tf.dispose([photo, ref, noise, dreamed]);
    o.dispose?.();
    cos.dispose?.();
  });

  test('a photo of another size is resized to the picture\'s grid', () => {
    const photo = rand([1, 12, 12, 3], 22); // grid 10x10
    const x = rand([2, 8, 8, 3], 23); // grid 6x6
    const o = caricature(L2, env, photo);
    const got = values(o, x);
    expect(got).toHaveLength(2);
    expect(got.every(Number.isFinite)).toBe(true);
    // A flat photo's activations are flat, and stay so when resized: the score is then exact.
    const flatPhoto = tf.fill([1, 12, 12, 3], 0.5) as tf.Tensor4D;
    const flat = caricature(L1, env, flatPhoto);
    const perChannel = tf.tidy(() => Array.from((net(flatPhoto).get('layer:1') as tf.Tensor).slice([0, 0, 0, 0], [1, 1, 1, -1]).dataSync()));
    const want = tf.tidy(() => Array.from((net(x).get('layer:1') as tf.Tensor).mul(tf.tensor1d(perChannel)).reshape([2, -1]).mean(1).dataSync()));
    expectClose(values(flat, x), want, 4);
    tf.dispose([photo, x, flatPhoto]);
    o.dispose?.();
    flat.dispose?.();
  });

  test('dispose frees the photo\'s activations', () => {
    const photo = rand([1, 8, 8, 3], 24);
    const before = tf.memory().numTensors;
    const o = caricature(L2, env, photo);
    expect(tf.memory().numTensors).toBe(before + 1);
    o.dispose?.();
    expect(tf.memory().numTensors).toBe(before);
    photo.dispose();
  });
});

describe('algebra', () => {
  const a = () => channel(L1, 0);
  const b = () => deepdream(L2);

  test('the gradient of a + b is the gradient of a plus the gradient of b, and so is the value', () => {
    const x = rand([2, 6, 6, 3], 25);
    const [ga, gb, gab] = [gradient(a(), x), gradient(b(), x), gradient(sum(a(), b()), x)];
    expectClose(gab.dataSync(), ga.add(gb).dataSync(), 5);
    const [va, vb] = [values(a(), x), values(b(), x)];
    expectClose(values(sum(a(), b(), tv()), x), va.map((v, i) => v + vb[i] + values(tv(), x)[i]), 5);
    tf.dispose([x, ga, gb, gab]);
  });

  test('scale k scales value and gradient; negate and difference subtract', () => {
    const x = rand([2, 6, 6, 3], 26);
    const [va, vb] = [values(a(), x), values(b(), x)];
    expectClose(values(scale(-2.5, a()), x), va.map((v) => -2.5 * v), 5);
    const [ga, gs] = [gradient(a(), x), gradient(scale(3, a()), x)];
    expectClose(gs.dataSync(), ga.mul(3).dataSync(), 5);
    expectClose(values(negate(a()), x), va.map((v) => -v), 5);
    expectClose(values(difference(a(), b()), x), va.map((v, i) => v - vb[i]), 5);
    const [gb, gd] = [gradient(b(), x), gradient(difference(a(), b()), x)];
    expectClose(gd.dataSync(), ga.sub(gb).dataSync(), 5);
    tf.dispose([x, ga, gs, gb, gd]);
  });

  test('reads are the union of the parts\', each once', () => {
    const o = sum(channel(L1, 0), scale(2, channel(L1, 1)), deepdream(L2), logit(1), tv(), difference(neuron(L2, 0), channel(LOGITS, 2)));
    expect(o.reads.map(readKey).sort()).toEqual(['layer:1', 'layer:2', 'logits']);
    expect(sum(tv(), l1()).reads).toEqual([]);
  });

  test('texts compose with brackets only where needed', () => {
    expect(difference(channel(L1, 2), scale(0.001, tv())).text).toBe('channel(1, 2) - 0.001 * tv');
    expect(sum(channel(L1, 2), scale(0.5, channel(L1, 1))).text).toBe('channel(1, 2) + 0.5 * channel(1, 1)');
    expect(difference(channel(L1, 2), sum(channel(L1, 1), tv())).text).toBe('channel(1, 2) - (channel(1, 1) + tv)');
    expect(scale(2, difference(channel(L1, 2), tv())).text).toBe('2 * (channel(1, 2) - tv)');
    expect(sum(channel(L1, 2), negate(tv())).text).toBe('channel(1, 2) + (-tv)');
    expect(difference(neuron(L2, 3, [1, 2]), scale(100, diversity(L2))).text).toBe('neuron(2, 3, at=1:2) - 100 * diversity(2)');
  });

  test('picture counts must agree; an agreed count passes through', () => {
    expect(sum(channelInterpolate(L1, 0, L1, 1, 4), scale(0.1, alignment(L1)), tv()).pictures).toBe(4);
    expect(sum(channel(L1, 0), tv()).pictures).toBeUndefined();
    expect(difference(channelInterpolate(L1, 0, L1, 1, 4), tv()).pictures).toBe(4);
    expect(() => sum(channelInterpolate(L1, 0, L1, 1, 4), channelInterpolate(L1, 1, L1, 0, 6))).toThrow(/different picture counts \(4, 6\)/);
    expect(() => difference(channelInterpolate(L1, 0, L1, 1, 4), channelInterpolate(L1, 1, L1, 0, 6))).toThrow(/\(4, 6\)/);
    expect(() => sum()).toThrow(/no objectives/);
  });

  test('dispose reaches every part through sum, scale, negate and difference', () => {
    const disposed: string[] = [];
    const part = (name: string): Objective => ({ ...tv(), text: name, dispose: () => disposed.push(name) });
    const o = difference(sum(part('a'), scale(2, part('b'))), negate(sum(part('c'), tv())));
    o.dispose?.();
    expect(disposed.sort()).toEqual(['a', 'b', 'c']);
    // A caricature inside a composite is freed by the composite.
    const photo = rand([1, 8, 8, 3], 27);
    const before = tf.memory().numTensors;
    const env: ObjectiveEnv = { activations: (p, r) => tf.tidy(() => tf.keep((net(p).get(readKey(r)) as tf.Tensor).clone())) };
    const c = difference(caricature(L2, env, photo), scale(1e-3, tv()));
    expect(tf.memory().numTensors).toBe(before + 1);
    c.dispose?.();
    expect(tf.memory().numTensors).toBe(before);
    photo.dispose();
  });
});
