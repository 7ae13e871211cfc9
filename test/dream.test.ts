import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select.js';
import { fromLayersModel, type LoadedModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { encodeAnimation } from '../src/dream/animation.js';
import { COLOR_CORRELATION } from '../src/dream/color.js';
import { negate } from '../src/dream/objectives/algebra.js';
import { bindObjective, describeObjective, shorthandExpression } from '../src/dream/objectives/bind.js';
import { type Objective } from '../src/dream/objectives/objective.js';
import { parseObjective } from '../src/dream/objectives/parse.js';
import { channel, logit, neuron } from '../src/dream/objectives/units.js';
import { createProbe, type Probe } from '../src/dream/probe.js';
import { createImageParam, DECAY_POWER, decayPowerFor, NATIVE_DECAY_POWER, sigmoid } from '../src/dream/param.js';
import { createRng } from '../src/dream/random.js';
import { overriddenActivation } from '../src/dream/overrides/guided.js';
import { DEFAULTS, KERAS_BASELINE, dreamBatch, scoreImages, unitPictures, type DreamSettings } from '../src/dream/render.js';
import { dreamUnits, splitBatches } from '../src/dream/schedule.js';
import { dreamSheet } from '../src/dream/sheet.js';
import { dreamFileName, dreamSize, dreamSizeWarning, modelInput, neuronPosition, resolveClass } from '../src/dream/setup.js';
import { logitTarget } from '../src/dream/target.js';
import { pad, placeChain, sampleAffine, standardTransforms } from '../src/dream/transforms.js';
import { type Raster } from '../src/image/raster.js';
import { VERTICAL_EDGE } from './helpers/models.js';

const meta = (range: [number, number] = [0, 1]): ModelMeta => ({ name: 'tiny', inputRange: range, inputRangeSource: 'default', extra: {} });

/** Any-size gray model: one 3x3 conv, filter 0 a vertical-edge detector, filter 1 horizontal. */
function edgeModel(): LoadedModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [null, null, 1], filters: 2, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'edges' }));
  const k = new Float32Array(18);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) [k[(y * 3 + x) * 2], k[(y * 3 + x) * 2 + 1]] = [VERTICAL_EDGE[y][x], VERTICAL_EDGE[x][y]];
  model.getLayer('edges').setWeights([tf.tensor4d(k, [3, 3, 1, 2]), tf.zeros([2])]);
  return fromLayersModel(model, 'edge-model', meta());
}

/**
 * A 3-colour classifier, MobileNet's head in miniature: conv(relu) -> GAP -> dense logits ->
 * separate softmax -> reshape. Hand-set so class c's logit is the mean of relu(colour c).
 */
function colourClassifier(): LoadedModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const convLayer = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' });
  const conv = convLayer.apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor;
  const denseLayer = tf.layers.dense({ units: 3, name: 'logits' });
  const logits = denseLayer.apply(gap) as tf.SymbolicTensor;
  const k = new Float32Array(3 * 3 * 3 * 4);
  for (let c = 0; c < 3; c++) k[((1 * 3 + 1) * 3 + c) * 4 + c] = 1; // centre tap: filter c reads colour c
  convLayer.setWeights([tf.tensor4d(k, [3, 3, 3, 4]), tf.zeros([4])]);
  denseLayer.setWeights([tf.eye(4, 3), tf.zeros([3])]);
  const soft = tf.layers.activation({ activation: 'softmax', name: 'soft' }).apply(logits) as tf.SymbolicTensor;
  const out = tf.layers.reshape({ targetShape: [3], name: 'out' }).apply(soft) as tf.SymbolicTensor;
  return fromLayersModel(tf.model({ inputs: input, outputs: out }), 'colour-model', { ...meta([-1, 1]), labels: ['red', 'green, verdant', 'blue'] });
}

/** Mean |horizontal difference| and |vertical difference| of a gray raster. */
function gradientEnergy(r: Raster): { dx: number; dy: number } {
  let dx = 0;
  let dy = 0;
  for (let y = 0; y < r.height - 1; y++) {
    for (let x = 0; x < r.width - 1; x++) {
      const v = r.data[y * r.width + x];
      dx += Math.abs(r.data[y * r.width + x + 1] - v);
      dy += Math.abs(r.data[(y + 1) * r.width + x] - v);
    }
  }
  return { dx, dy };
}

const quick = (over: Partial<DreamSettings>): DreamSettings => ({ ...DEFAULTS, steps: 48, size: 32, seed: 7, ...over });

/** Render `objective` on `loaded`, one picture per unit, reading through `probe` (default: the objective's own reads). */
function dream(loaded: LoadedModel, objective: Objective, units: number[], settings: DreamSettings, opts: { probe?: Probe; onStep?: (step: number, values: number[]) => void; start?: tf.Tensor4D } = {}) {
  const probe = opts.probe ?? createProbe(loaded, objective.reads);
  return dreamBatch(probe, objective, modelInput(loaded), unitPictures(units), settings, opts.onStep, opts.start);
}

/** How many classes `logit(unit)` offers on the model. */
const classCount = (loaded: LoadedModel): number => describeObjective(loaded, parseObjective('logit(unit)')).unitCount!;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('dream on a hand-set edge model', () => {
  let loaded: LoadedModel;
  let input: ReturnType<typeof modelInput>;
  /** The channel objective of the edge layer for `units` (the Keras baseline leaves out a 2-px border). */
  const edges = (units: number[], border = 0) => channel({ layer: 0 }, units, { border });
  beforeAll(() => {
    loaded = edgeModel();
    input = modelInput(loaded);
  });

  test('the vertical-edge filter dreams vertical stripes, the horizontal one horizontal (fft, decorrelation n/a, standard transforms)', () => {
    const r = dream(loaded, edges([0, 1]), [0, 1], quick({}));
    const v = gradientEnergy(r.images[0]);
    const h = gradientEnergy(r.images[1]);
    expect(v.dx).toBeGreaterThan(1.4 * v.dy);
    expect(h.dy).toBeGreaterThan(1.4 * h.dx);
    expect(r.images[0]).toMatchObject({ width: 32, height: 32, channels: 1 });
  });

  test('every parameterization and transform set raises the objective above the grey start', () => {
    const grey = tf.tidy(() => scoreImages(createProbe(loaded, edges([0]).reads), edges([0]), input, [0], tf.fill([1, 32, 32, 1], 0.5) as tf.Tensor4D))[0];
    for (const over of [{ param: 'pixel' }, { param: 'fft' }, { transforms: 'none' }, { ...KERAS_BASELINE }] as Partial<DreamSettings>[]) {
      const r = dream(loaded, edges([0], over.optimizer === 'sgd-l2' ? 2 : 0), [0], quick(over));
      expect(r.objectives[0]).toBeGreaterThan(grey + 0.5);
    }
  });

  test('--minimize drives the unit down (to zero for a ReLU unit)', () => {
    const r = dream(loaded, negate(edges([0])), [0], quick({ transforms: 'none' }));
    // The objective is the negated unit: the unit itself ends below 0.01.
    expect(-r.objectives[0]).toBeLessThan(0.01);
  });

  test('the same seed gives the same bytes; another seed differs', () => {
    const a = dream(loaded, edges([0, 1]), [0, 1], quick({ steps: 8 }));
    const b = dream(loaded, edges([0, 1]), [0, 1], quick({ steps: 8 }));
    const c = dream(loaded, edges([0, 1]), [0, 1], quick({ steps: 8, seed: 8 }));
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data))).toBe(true);
    expect(Buffer.from(a.images[1].data).equals(Buffer.from(b.images[1].data))).toBe(true);
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(c.images[0].data))).toBe(false);
  });

  test('the tensor count stays flat from step to step and returns to where it started', () => {
    const probe = createProbe(loaded, edges([0, 1]).reads);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    dream(loaded, edges([0, 1]), [0, 1], quick({ steps: 30 }), { probe, onStep: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(2)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('neuron objective changes only the pixels in that neuron\'s 3x3 receptive field', () => {
    const r = dream(loaded, neuron({ layer: 0 }, [0], [5, 9]), [0], quick({ param: 'pixel', transforms: 'none', steps: 32 }));
    const img = r.images[0];
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = x >= 5 && x <= 7 && y >= 9 && y <= 11; // valid conv: output (5,9) reads input 5..7, 9..11
        const moved = Math.abs(img.data[y * 32 + x] - 128) > 25;
        expect({ x, y, moved: moved && !inside }).toEqual({ x, y, moved: false });
      }
    }
    expect(Math.abs(img.data[10 * 32 + 5] - img.data[10 * 32 + 7])).toBeGreaterThan(100); // an edge across the field
  });

  test('frames are kept every k-th step and encode as an animated WebP', async () => {
    const r = dream(loaded, edges([0, 1]), [0, 1], quick({ steps: 12, frameEvery: 4 }));
    expect(r.frames.length).toBe(3);
    const webp = await encodeAnimation(r.frames.map((images) => dreamSheet({ units: [0, 1], images, objectives: [0, 0], frames: [] }, { labels: true })), 'webp');
    const info = await sharp(webp, { animated: true }).metadata();
    expect(info.format).toBe('webp');
    expect(info.pages).toBe(3);
  });

  test('starting from a picture with lr 0 gives that picture back', () => {
    const start = tf.tidy(() => tf.linspace(0.1, 0.9, 32).reshape([1, 1, 32, 1]).tile([1, 32, 1, 1]) as tf.Tensor4D);
    const r = dream(loaded, edges([0]), [0], quick({ steps: 1, lr: 0, transforms: 'none', param: 'pixel' }), { start });
    const want = Array.from(start.dataSync()).map((v) => Math.round(v * 255));
    start.dispose();
    Array.from(r.images[0].data).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(3));
  });

  test('a NaN objective stops with a clear error instead of a black picture', () => {
    const broken: Probe = { names: ['broken'], shapes: [[-1, -1, 1]], notes: [undefined], apply: (x: tf.Tensor4D) => [tf.log(x.sub(2))] };
    expect(() => dream(loaded, edges([0]), [0], quick({ steps: 3 }), { probe: broken })).toThrow(/objective became NaN at step 1 for picture 1 \(channel\(0, unit\)\): no picture written/);
  });

  test('many filters run in fixed-size batches, in unit order, into one labelled sheet', async () => {
    expect(splitBatches([0, 1, 2, 3, 4], 2)).toEqual([[0, 1], [2, 3], [4]]);
    const run = await dreamUnits(loaded, { objective: { expression: shorthandExpression({ objective: 'channel', layer: 0 }) }, units: [1, 0, 1], settings: quick({ steps: 4 }) }, { batchSize: 2, workers: 1 });
    expect(run.units).toEqual([1, 0, 1]);
    expect(run.images.length).toBe(3);
    const sheet = dreamSheet(run, { labels: true });
    expect(sheet.width).toBe(2 * 32 + 3 * 2); // 3 tiles lay out 2 wide
  });
});

describe('parameterizations', () => {
  test("the image's sigmoid: tf.sigmoid's values and gradient, float for float, in one pass back", () => {
    const x = tf.randomNormal([2, 6, 5, 3], 0, 3, 'float32', 8) as tf.Tensor4D;
    const w = tf.randomNormal([2, 6, 5, 3], 0, 1, 'float32', 9);
    expect(Array.from(sigmoid(x).dataSync())).toEqual(Array.from(tf.sigmoid(x).dataSync()));
    const grad = (f: (t: tf.Tensor4D) => tf.Tensor) => Array.from(tf.grad((t: tf.Tensor) => f(t as tf.Tensor4D).mul(w).sum())(x).dataSync());
    const g = grad(sigmoid);
    expect(g).toEqual(grad(tf.sigmoid));
    expect(g.some((v) => v !== 0)).toBe(true);
    tf.dispose([x, w]);
  });

  test('zero noise is mid-grey; the fft image is smoother than the pixel image at the same noise level', () => {
    const energy = (kind: 'fft' | 'pixel') =>
      tf.tidy(() => {
        const p = createImageParam({ kind, height: 64, width: 64, channels: 3, decorrelate: true, seeds: [3] });
        const img = p.image();
        // Mean squared neighbour difference relative to variance: high for white noise, low for 1/f.
        const d = img.slice([0, 0, 1, 0], [-1, -1, 63, -1]).sub(img.slice([0, 0, 0, 0], [-1, -1, 63, -1])).square().mean().dataSync()[0];
        const v = tf.moments(img).variance.dataSync()[0];
        p.dispose();
        return d / v;
      });
    expect(energy('fft')).toBeLessThan(0.3 * energy('pixel'));
    const p = createImageParam({ kind: 'fft', height: 8, width: 8, channels: 3, decorrelate: true, seeds: [1] });
    p.variables.forEach((v) => v.assign(tf.zerosLike(v)));
    expect(Array.from(p.image().dataSync()).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    p.dispose();
  });

  test('a steeper spectrum decay (the native-scale setting) gives a smoother start; the default is Lucid\'s', () => {
    const roughness = (decayPower?: number) =>
      tf.tidy(() => {
        const p = createImageParam({ kind: 'fft', height: 64, width: 64, channels: 3, decorrelate: true, seeds: [3], decayPower });
        const img = p.image();
        const d = img.slice([0, 0, 1, 0], [-1, -1, 63, -1]).sub(img.slice([0, 0, 0, 0], [-1, -1, 63, -1])).square().mean().dataSync()[0];
        const v = tf.moments(img).variance.dataSync()[0];
        const bytes = Array.from(img.dataSync());
        p.dispose();
        return { r: d / v, bytes };
      });
    expect(DECAY_POWER).toBe(1);
    expect(NATIVE_DECAY_POWER).toBeGreaterThan(DECAY_POWER);
    expect(roughness().bytes).toEqual(roughness(DECAY_POWER).bytes);
    expect(roughness(NATIVE_DECAY_POWER).r).toBeLessThan(0.5 * roughness().r);
    // Only where native and fit scale differ: MobileNet's 224 px input and a 128 px dream.
    expect(decayPowerFor(true, 128, [224, 224])).toBe(NATIVE_DECAY_POWER);
    expect([decayPowerFor(false, 128, [224, 224]), decayPowerFor(true, 12, [12, 12]), decayPowerFor(true, 128)]).toEqual([DECAY_POWER, DECAY_POWER, DECAY_POWER]);
  });

  test('decorrelation uses Lucid\'s matrix with unit largest column norm', () => {
    const norms = [0, 1, 2].map((c) => Math.hypot(...COLOR_CORRELATION.map((row) => row[c])));
    expect(Math.max(...norms)).toBeCloseTo(1, 6);
    expect(COLOR_CORRELATION[0][0] / COLOR_CORRELATION[1][0]).toBeCloseTo(0.26 / 0.27, 6);
  });

  test('a colour dream with decorrelation comes out in colour and raises its class logit', () => {
    const loaded = colourClassifier();
    const target = logitTarget(loaded);
    const input = modelInput(loaded);
    expect(dreamSize(input)).toBe(12);
    const grey = tf.tidy(() => target.apply(tf.fill([1, 12, 12, 3], 0) as tf.Tensor4D).dataSync()[2]);
    expect(grey).toBe(0);
    const r = dream(loaded, logit([2]), [2], quick({ size: 12, steps: 40, transforms: 'none' }));
    expect(r.objectives[0]).toBeGreaterThan(0.5);
    const img = r.images[0];
    expect(img.channels).toBe(3);
    // Colour, not grey: the picture scores higher on "blue" than on "red".
    const z = tf.tidy(() => target.apply(tf.tensor4d(Float32Array.from(img.data), [1, 12, 12, 3]).div(127.5).sub(1) as tf.Tensor4D).dataSync());
    expect(z[2]).toBeGreaterThan(z[0] + 0.2);
  });
});

describe('transforms', () => {
  test('an identity placement reproduces the picture; outside reads 0.5', () => {
    const img = tf.tensor4d([0, 0.25, 0.5, 1], [1, 2, 2, 1]);
    expect(Array.from(sampleAffine(img, { height: 2, width: 2, toSource: [1, 0, 0, 0, 1, 0] }).dataSync())).toEqual([0, 0.25, 0.5, 1]);
    const padded = sampleAffine(img, placeChain([pad(1)], 2, 2, createRng(1)));
    expect(padded.shape).toEqual([1, 4, 4, 1]);
    expect(padded.dataSync()[0]).toBeCloseTo(0.5, 6);
    expect(padded.dataSync()[5]).toBeCloseTo(0, 6);
  });

  test('the gradient is the exact adjoint of the sampling (<Sx, y> = <x, Sᵀy>)', () => {
    const rng = createRng(5);
    const placed = placeChain(standardTransforms(), 20, 20, rng);
    const x = tf.randomNormal([2, 20, 20, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.randomNormal([2, placed.height, placed.width, 3], 0, 1, 'float32', 2);
    const grey = sampleAffine(tf.zerosLike(x) as tf.Tensor4D, placed);
    const lhs = sampleAffine(x, placed).sub(grey).mul(y).sum().dataSync()[0];
    const g = tf.grad((t: tf.Tensor) => sampleAffine(t as tf.Tensor4D, placed).mul(y).sum())(x);
    const rhs = x.mul(g).sum().dataSync()[0];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
  });

  test("Lucid's standard chain: 128 px grows to 152, shrinks to ~130-158, keeps its sizes integral", () => {
    const rng = createRng(9);
    for (let i = 0; i < 20; i++) {
      const p = placeChain(standardTransforms(), 128, 128, rng);
      expect(p.height).toBe(p.width);
      expect(Number.isInteger(p.height)).toBe(true);
      expect(p.height).toBeGreaterThanOrEqual(Math.floor(0.9 * 144) - 4);
      expect(p.height).toBeLessThanOrEqual(Math.floor(1.1 * 144) - 4);
    }
  });
});

describe('objectives and targets', () => {
  test('logits are the pre-softmax scores, found through Activation and Reshape layers', () => {
    const loaded = colourClassifier();
    const t = logitTarget(loaded);
    expect(t.name).toBe('logits of logits');
    const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const z = t.apply(x);
    const p = loaded.model.predict(x) as tf.Tensor;
    const ratio = tf.softmax(z).sub(p).abs().max().dataSync()[0];
    expect(ratio).toBeLessThan(1e-5);
    expect(z.shape).toEqual([2, 3]);
  });

  test('a dense softmax head is re-applied without its softmax', () => {
    const model = tf.sequential();
    model.add(tf.layers.flatten({ inputShape: [4, 4, 1], name: 'flat' }));
    model.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }));
    const loaded = fromLayersModel(model, 'dense-head', meta());
    const x = tf.randomUniform([1, 4, 4, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const z = logitTarget(loaded).apply(x);
    const [kernel, bias] = model.getLayer('head').getWeights();
    const want = tf.matMul(x.reshape([1, 16]), kernel).add(bias);
    expect(z.sub(want).abs().max().dataSync()[0]).toBeLessThan(1e-5);
  });

  test('a unit or position the layer does not have is refused, naming the bad value and the range', () => {
    const loaded = colourClassifier();
    const bind = (expression: string, units?: number[]) => bindObjective(loaded, parseObjective(expression), { units });
    expect(() => bind('channel(gap, 7)')).toThrow(/channel 7 out of range: layer gap has 4 channels \(0-3\)/);
    expect(() => bind('channel(gap, unit)', [0, 4])).toThrow(/unit 4 out of range: layer gap has 4 channels \(0-3\)/);
    expect(() => bind('neuron(gap, 0, at=1:1)')).toThrow(/neuron at=1:1 needs a layer with a grid, but gap has output \[4\]/);
    expect(() => bind('neuron(1, 0, at=40:1)')).toThrow(/position 40:1 out of range: layer conv has a 10x10 grid/);
  });

  test('--class by index, by label, or by one synonym of a label; unknown ones list what is valid', () => {
    const labels = ['red', 'green, verdant', 'blue'];
    expect(resolveClass('2', labels, 3)).toBe(2);
    expect(resolveClass('verdant', labels, 3)).toBe(1);
    expect(resolveClass('Blue', labels, 3)).toBe(2);
    expect(() => resolveClass('7', labels, 3)).toThrow(/class 7 out of range: the model has 3 classes \(0-2\)/);
    expect(() => resolveClass('purple', labels, 3)).toThrow(/unknown class 'purple'/);
  });
});

describe('ReLU gradient redirection', () => {
  test('a dead ReLU passes gradient uphill only where it runs redirected', () => {
    const x = tf.tensor2d([[-1, -2, -3]]);
    const grad = (sign: number) => Array.from(tf.grad((t: tf.Tensor) => overriddenActivation(t, 'relu', 'redirect').sum().mul(sign))(x).dataSync());
    // The loss gradient is +1 (pushing x down when descending): blocked for negative x.
    expect(grad(1)).toEqual([0, 0, 0]);
    expect(grad(-1)).toEqual([-1, -1, -1]);
    // An ordinary relu next to it keeps its true gradient: redirection is no switch.
    expect(Array.from(tf.grad((t: tf.Tensor) => tf.relu(t).sum().neg())(x).dataSync()).map(Math.abs)).toEqual([0, 0, 0]);
  });

  test('with redirection a dead unit still gets a dream (the first 16 steps move it)', () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [null, null, 1], filters: 1, kernelSize: 3, activation: 'relu', name: 'dead' }));
    model.getLayer('dead').setWeights([tf.tensor4d(VERTICAL_EDGE.flat(), [3, 3, 1, 1]), tf.tensor1d([-20])]);
    const loaded = fromLayersModel(model, 'dead', meta());
    const r = dream(loaded, channel({ layer: 0 }, [0]), [0], quick({ steps: 16, transforms: 'none', param: 'pixel' }));
    const spread = Math.max(...r.images[0].data) - Math.min(...r.images[0].data);
    expect(spread).toBeGreaterThan(60);
  });
});

/**
 * The bundled model's head in miniature: one sigmoid unit, P(second class), with z the mean
 * brightness minus 0.5, times 8: brighter pictures are class 1, darker ones class 0.
 */
function oneUnitSigmoid(separateActivation: boolean): LoadedModel {
  const input = tf.input({ shape: [8, 8, 1] });
  const flat = tf.layers.flatten({ name: 'flat' }).apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 1, activation: separateActivation ? 'linear' : 'sigmoid', name: 'head' });
  let out = dense.apply(flat) as tf.SymbolicTensor;
  if (separateActivation) out = tf.layers.activation({ activation: 'sigmoid', name: 'p' }).apply(out) as tf.SymbolicTensor;
  dense.setWeights([tf.fill([64, 1], 8 / 64), tf.tensor1d([-4])]);
  return fromLayersModel(tf.model({ inputs: input, outputs: out }), 'one-unit', { ...meta(), labels: ['dark', 'bright'] });
}

describe('logit dreams on a one-unit sigmoid head', () => {
  test.each([false, true])('the head reads as two scores [-z, z], one per class (separate sigmoid layer: %s)', (separate) => {
    const loaded = oneUnitSigmoid(separate);
    const target = logitTarget(loaded);
    expect(classCount(loaded)).toBe(2);
    expect(target.shape).toEqual([2]);
    const x = tf.tidy(() => tf.linspace(0, 1, 2 * 64).reshape([2, 8, 8, 1]) as tf.Tensor4D);
    const scores = target.apply(x);
    const p = loaded.model.predict(x) as tf.Tensor;
    const z = tf.tidy(() => x.mean([1, 2, 3]).sub(0.5).mul(8));
    expect(tf.tidy(() => scores.sub(tf.stack([z.neg(), z], 1)).abs().max()).dataSync()[0]).toBeLessThan(1e-5);
    // The model's own probability of each class is the sigmoid of that class's score.
    const pOfClass = tf.tidy(() => tf.stack([tf.scalar(1).sub(p.reshape([2])), p.reshape([2])], 1));
    expect(tf.tidy(() => tf.sigmoid(scores).sub(pOfClass).abs().max()).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, scores, p, z, pOfClass]);
  });

  test('class 0 is painted dark and class 1 bright: each dream is its own class for the model', () => {
    const loaded = oneUnitSigmoid(false);
    const input = modelInput(loaded);
    const units = classCount(loaded);
    const settings = quick({ steps: 32, size: dreamSize(input), transforms: 'none', lr: 0.2 });
    const pBright = (cls: number) => {
      const img = dream(loaded, logit([cls]), [cls], settings).images[0];
      return tf.tidy(() => (loaded.model.predict(tf.tensor4d(Float32Array.from(img.data), [1, 8, 8, 1]).div(255)) as tf.Tensor).dataSync()[0]);
    };
    expect(resolveClass('dark', loaded.meta.labels, units)).toBe(0);
    expect(resolveClass('bright', loaded.meta.labels, units)).toBe(1);
    expect(resolveClass('1', loaded.meta.labels, units)).toBe(1);
    const [p0, p1] = [pBright(0), pBright(1)];
    expect(p0).toBeLessThan(0.1);
    expect(p1).toBeGreaterThan(0.9);
  });

  test('a label past the scores the model has is refused, naming both counts', () => {
    expect(() => resolveClass('blue', ['red', 'green', 'blue'], 2)).toThrow(/class 'blue' is label 2, but the model scores 2 classes \(0-1\)/);
  });
});

describe('default file names and --size on a fixed-size model', () => {
  const name = (over: Partial<Parameters<typeof dreamFileName>[0]>) => dreamFileName({ layer: 'conv', units: [3], objective: 'channel', minimize: false, ...over });

  test('a channel dream keeps its short name; lists, ranges, neurons and --minimize each get their own', () => {
    expect(name({})).toBe('dream.conv.3.png');
    expect(name({ units: [0, 1, 2, 3] })).toBe('dream.conv.0-3.png');
    expect(name({ units: [1, 3] })).toBe('dream.conv.1_3.png');
    expect(name({ units: [9, 1, 2, 3, 4, 5, 6, 7, 8] })).toBe('dream.conv.9_8.9-filters.png');
    expect(name({ objective: 'neuron', at: [7, 5] })).toBe('dream.conv.3.neuron-x7y5.png');
    expect(name({ objective: 'neuron', at: 'centre' })).toBe('dream.conv.3.neuron-centre.png');
    expect(name({ objective: 'neuron' })).toBe('dream.conv.3.neuron.png');
    expect(name({ minimize: true })).toBe('dream.conv.3.neg.png');
    expect(name({ layer: 'logit', objective: 'logit', units: [1], minimize: true })).toBe('dream.logit.1.neg.png');
    const all = [name({}), name({ units: [1, 3] }), name({ units: [1, 2, 3] }), name({ objective: 'neuron', at: [7, 5] }), name({ minimize: true }), name({ objective: 'neuron', at: [7, 5], minimize: true })];
    expect(new Set(all).size).toBe(all.length);
  });

  test("the neuron's position in a name is the one the objective reads: --at, else the grid's centre", () => {
    expect(neuronPosition([14, 10, 8])).toEqual([5, 7]);
    expect(neuronPosition([14, 10, 8], [1, 2])).toEqual([1, 2]);
    expect(neuronPosition([-1, -1, 8])).toBe('centre');
    expect(neuronPosition([10])).toBeUndefined();
  });

  test('--size above a fixed input is warned about (the network sees it shrunk); at or below it, or any-size models, are not', () => {
    const fixed = { channels: 3, range: [0, 1] as [number, number], fixedSize: [96, 96] as [number, number] };
    expect(dreamSizeWarning(fixed, 200)).toMatch(/--size 200: the model takes 96x96 only.*no detail finer than 96 px/);
    expect(dreamSizeWarning(fixed, 96)).toBeUndefined();
    expect(dreamSizeWarning(fixed, undefined)).toBeUndefined();
    expect(dreamSizeWarning({ ...fixed, fixedSize: undefined }, 200)).toBeUndefined();
    expect(dreamSize(fixed, 200)).toBe(200);
  });
});
