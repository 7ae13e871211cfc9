import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { fromLayersModel, loadModel, type LoadedModel } from '../src/model/load.js';
import { exactBox, fieldSummary, isField, nominalBox, receptiveFields, windowGeometry, type LayerField } from '../src/model/receptive-field.js';
import { probeEdges } from './helpers/receptive.js';
import { MOBILENET, describeWithShared } from './helpers/cli.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const meta = { name: 't', inputRange: [0, 1] as [number, number], inputRangeSource: 'test' } as never;
const seeded = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.5 });

/**
 * A 32 px chain of every kind of window, the last four inside a nested model as `train --base`
 * saves them. Sizes 32 → 30 → 15 → 7 → 7 → 7 → 9 → 7; the numbers in the tests are worked by hand.
 */
function handNet(): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 1], name: 'image' });
  let x = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'c3', kernelInitializer: seeded(1), biasInitializer: 'ones' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', name: 'c3s2', kernelInitializer: seeded(2), activation: 'relu', biasInitializer: 'ones' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
  const inner = tf.sequential({ name: 'base' });
  inner.add(tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dil', kernelInitializer: seeded(3) }));
  inner.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw', depthwiseInitializer: seeded(4) }));
  inner.add(tf.layers.zeroPadding2d({ padding: 1, name: 'zpad' }));
  inner.add(tf.layers.separableConv2d({ filters: 2, kernelSize: 3, name: 'sep', depthwiseInitializer: seeded(5), pointwiseInitializer: seeded(6) }));
  const out = inner.apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('receptive fields of a hand-built net', () => {
  let loaded: LoadedModel;
  let fields: ReturnType<typeof receptiveFields>;
  const field = (name: string) => {
    const i = loaded.graph.layers.findIndex((l) => l.name === name);
    expect(i).toBeGreaterThanOrEqual(0);
    const f = fields[i];
    if (!isField(f)) throw new Error(`${name}: ${JSON.stringify(f)}`);
    return f;
  };
  beforeAll(() => {
    loaded = fromLayersModel(handNet(), 'hand', meta);
    fields = receptiveFields(loaded);
  });

  test("TF 'same' padding pads floor(total/2) before, depending on the size coming in", () => {
    expect(windowGeometry(224, 3, 2, 1, 'same')).toEqual({ out: 112, before: 0 });
    expect(windowGeometry(7, 3, 2, 1, 'same')).toEqual({ out: 4, before: 1 });
    expect(windowGeometry(7, 3, 1, 2, 'same')).toEqual({ out: 7, before: 2 });
    expect(windowGeometry(30, 3, 1, 1, 'valid')).toEqual({ out: 28, before: 0 });
  });

  test('size, stride and start of each layer, nested ones named base/…', () => {
    const got = ['image', 'c3', 'c3s2', 'pool', 'base/dil', 'base/dw', 'base/zpad', 'base/sep'].map((n) => {
      const f = field(n);
      return [n, f.rows.length, f.rows.size, f.rows.stride, f.rows.start];
    });
    expect(got).toEqual([
      ['image', 32, 1, 1, 0],
      ['c3', 30, 3, 1, 0], // 3x3 valid
      ['c3s2', 15, 5, 2, 0], // 3x3 stride 2 same on 30: total pad 1, none before
      ['pool', 7, 7, 4, 0], // 2x2 max pool
      ['base/dil', 7, 23, 4, -8], // 3x3 dilation 2 same: 5 wide, 2 before
      ['base/dw', 7, 31, 4, -12], // depthwise 3x3 same: 1 before
      ['base/zpad', 9, 31, 4, -16], // one zero row before
      ['base/sep', 7, 39, 4, -16], // separable 3x3 valid
    ]);
    expect(fieldSummary(field('base/sep'))).toEqual({ rf: [39, 39], stride: [4, 4], global: false });
  });

  test('exact boxes leave out padding and pixels a valid window never reaches', () => {
    // pool unit 6 reads c3s2 12..13 → c3 24..28 → input 24..30; input row 31 only reaches c3s2 unit 14, which the pool drops.
    expect(exactBox(field('pool'), 6, 6)).toEqual({ top: 24, left: 24, bottom: 30, right: 30 });
    expect(nominalBox(field('pool'), 6, 6)).toEqual({ top: 24, left: 24, bottom: 30, right: 30 });
    // dilated unit 0 taps pool -2 (padding), 0 and 2; unit 6 taps 4, 6 and 8 (padding).
    expect(exactBox(field('base/dil'), 0, 6)).toEqual({ top: 0, bottom: 14, left: 16, right: 30 });
    expect(nominalBox(field('base/dil'), 0, 6)).toEqual({ top: -8, bottom: 14, left: 16, right: 38 });
    // A zero-padding row reads nothing.
    expect(exactBox(field('base/zpad'), 0, 3)).toBeUndefined();
    expect(exactBox(field('base/sep'), 3, 3)).toEqual({ top: 0, left: 0, bottom: 30, right: 30 });
  });

  test('empirically: no pixel outside the box moves a unit, and each edge inside the image is reached', () => {
    const base = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const cases: [string, number, number][] = [['c3', 10, 20], ['c3s2', 5, 9], ['pool', 6, 2], ['base/dil', 3, 0], ['base/dw', 2, 5], ['base/sep', 1, 4], ['base/sep', 6, 6]];
    for (const [name, y, x] of cases) {
      const idx = loaded.graph.layers.findIndex((l) => l.name === name);
      const box = exactBox(field(name), y, x)!;
      const probe = probeEdges(loaded, idx, y, x, box, base);
      for (const [edge, o] of Object.entries(probe.outside)) expect([name, y, x, edge, o.changed]).toEqual([name, y, x, edge, 0]);
      const edgesInside = [box.top > 0 && 'top', box.bottom < 31 && 'bottom', box.left > 0 && 'left', box.right < 31 && 'right'].filter(Boolean);
      expect([name, Object.keys(probe.inside).sort()]).toEqual([name, [...edgesInside].sort()]);
      for (const edge of edgesInside) expect([name, y, x, edge, probe.inside[edge as string]]).toEqual([name, y, x, edge, true]);
    }
    base.dispose();
  });
});

describe('branches and global layers', () => {
  test('Add and Concatenate take the union of their inputs’ boxes; global pooling sees the whole image', () => {
    const input = tf.input({ shape: [16, 16, 1] });
    const a = tf.layers.conv2d({ filters: 2, kernelSize: 1, strides: 2, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'b' }).apply(input) as tf.SymbolicTensor;
    const b2 = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'b2' }).apply(b) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([a, b2]) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat' }).apply([a, tf.layers.cropping2D({ cropping: [[1, 1], [0, 0]], name: 'crop' }).apply(tf.layers.zeroPadding2d({ padding: [[1, 1], [0, 0]], name: 'pad' }).apply(b2) as tf.SymbolicTensor) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 2, name: 'head' }).apply(gap) as tf.SymbolicTensor;
    const loaded = fromLayersModel(tf.model({ inputs: input, outputs: [dense, cat] }), 'branches', meta);
    const fields = receptiveFields(loaded);
    const f = (name: string) => fields[loaded.graph.layers.findIndex((l) => l.name === name)] as LayerField;
    // 'a' reads pixel 2p; 'b' pads 16 → 8 with total 1, none before: 2p..2p+2.
    expect(exactBox(f('a'), 3, 3)).toEqual({ top: 6, left: 6, bottom: 6, right: 6 });
    expect(exactBox(f('b'), 3, 3)).toEqual({ top: 6, left: 6, bottom: 8, right: 8 });
    expect(exactBox(f('sum'), 7, 0)).toEqual({ top: 14, left: 0, bottom: 15, right: 2 });
    expect(exactBox(f('cat'), 7, 0)).toEqual({ top: 14, left: 0, bottom: 15, right: 2 });
    expect(fieldSummary(f('sum'))).toEqual({ rf: [3, 3], stride: [2, 2], global: false });
    expect(fieldSummary(f('gap'))).toEqual({ rf: [16, 16], stride: [16, 16], global: true });
    expect(fieldSummary(f('head'))?.global).toBe(true);
  });

  test('a layer without a rule is named, and so are the layers after it', () => {
    const model = tf.sequential({ layers: [tf.layers.upSampling2d({ inputShape: [8, 8, 1], size: [2, 2], name: 'up' }), tf.layers.conv2d({ filters: 1, kernelSize: 3, name: 'after' })] });
    const fields = receptiveFields(fromLayersModel(model, 'up', meta));
    expect(fields.map((f) => (isField(f) ? 'ok' : f.unsupported))).toEqual(['no receptive field rule for UpSampling2D (layer up)', 'no receptive field rule for UpSampling2D (layer up)']);
  });
});

describeWithShared('the MobileNet receptive-field tests', MOBILENET)('receptive fields of the shared MobileNet, empirically', () => {
  test('known sizes, and both ways on a shallow, a middle and two deep layers', async () => {
    const loaded = await loadModel(MOBILENET);
    const fields = receptiveFields(loaded);
    const idx = (name: string) => loaded.graph.layers.findIndex((l) => l.name === name);
    // MobileNet v1's published field sizes: 3 after conv1, 315 after the last block.
    expect(fieldSummary(fields[idx('conv1')])).toEqual({ rf: [3, 3], stride: [2, 2], global: false });
    expect(fieldSummary(fields[idx('conv_pw_13_relu')])).toEqual({ rf: [315, 315], stride: [32, 32], global: false });
    const base = tf.randomUniform([1, 224, 224, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    const cases: [string, number, number][] = [['conv_pw_2_relu', 20, 30], ['conv_pw_7_relu', 7, 7], ['conv_pw_11_relu', 2, 12], ['conv_pw_13_relu', 0, 6]];
    for (const [name, y, x] of cases) {
      const box = exactBox(fields[idx(name)] as LayerField, y, x)!;
      const probe = probeEdges(loaded, idx(name), y, x, box, base, 8);
      for (const [edge, o] of Object.entries(probe.outside)) expect([name, edge, o.changed]).toEqual([name, edge, 0]);
      const edgesInside = [box.top > 0 && 'top', box.bottom < 223 && 'bottom', box.left > 0 && 'left', box.right < 223 && 'right'].filter(Boolean) as string[];
      expect(edgesInside.length).toBeGreaterThan(0);
      for (const edge of edgesInside) expect([name, edge, probe.inside[edge]]).toEqual([name, edge, true]);
    }
    base.dispose();
  }, 300000);
});
