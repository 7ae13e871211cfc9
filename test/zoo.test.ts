import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { createProbe } from '../src/dream/probe.js';
import { channel } from '../src/dream/objectives/units.js';
import { DEFAULTS, dreamBatch, unitPictures } from '../src/dream/render.js';
import { modelInput } from '../src/dream/setup.js';
import { fromLayersModel, type LoadedModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { ZOO_BUILDERS, ZOO_BENCH_LAYERS, ZOO_NAMES, type ZooName, type ZooOptions } from '../src/zoo/fixtures.js';
import { expectClose } from './gradients-helpers.js';
import { runCli } from './helpers/cli.js';

/** The reduced variants the tests build: the same code and names, fewer channels, smaller inputs. */
const SMALL: Record<ZooName, ZooOptions> = {
  'darknet-tiny': { width: 0.25, inputSize: 64 },
  vgg: { width: 0.25, inputSize: 64 },
  resnet: { width: 0.125, inputSize: 64 },
  'inception-v3': { width: 0.0625, inputSize: 96 },
};

const loadedOf = (name: ZooName, model: tf.LayersModel): LoadedModel =>
  fromLayersModel(model, name, { name, inputRange: ZOO_BUILDERS[name]().sidecar.inputRange ?? [0, 1], inputRangeSource: 'cnnviz.json', extra: {} });

const layerIndex = (loaded: LoadedModel, name: string): number => loaded.graph.layers.findIndex((l) => l.name === name);

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
});

describe('the full-size fixtures have the issue\'s architectures and Keras\'s names', () => {
  const shapeOf = (m: tf.LayersModel, name: string) => m.getLayer(name).outputShape;

  test('darknet-tiny: 15 conv → BN → LeakyReLU(0.1) blocks, the 10th LeakyReLU 28×28×256, a 1000-way biased 1×1 conv, GAP', () => {
    const { model, sidecar } = ZOO_BUILDERS['darknet-tiny']();
    const byClass = (c: string) => model.layers.filter((l) => l.getClassName() === c);
    expect(byClass('LeakyReLU').map((l) => l.name)).toEqual(['leaky_re_lu', ...Array.from({ length: 14 }, (_, i) => `leaky_re_lu_${i + 1}`)]);
    expect(byClass('LeakyReLU').every((l) => (l.getConfig().alpha as number) === 0.1)).toBe(true);
    expect(byClass('Conv2D').map((l) => (l.getConfig().filters as number))).toEqual([16, 32, 16, 128, 16, 128, 32, 256, 32, 256, 64, 512, 64, 512, 128, 1000]);
    expect(byClass('Conv2D').map((l) => l.getConfig().useBias)).toEqual([...Array(15).fill(false), true]);
    expect(byClass('MaxPooling2D')).toHaveLength(4);
    expect(shapeOf(model, ZOO_BENCH_LAYERS['darknet-tiny'])).toEqual([null, 28, 28, 256]);
    expect(model.outputs[0].shape).toEqual([null, 1000]);
    expect(sidecar.inputRange).toEqual([0, 1]);
    model.dispose();
  });

  test('vgg: the model `cnnviz train --arch vgg` builds, its last ReLU block8_relu', () => {
    const { model } = ZOO_BUILDERS.vgg();
    expect(shapeOf(model, 'block8_relu')).toEqual([null, 7, 7, 256]);
    expect(model.layers.filter((l) => l.getClassName() === 'ReLU').at(-1)!.name).toBe(ZOO_BENCH_LAYERS.vgg);
    model.dispose();
  });

  test('resnet: bottleneck blocks with Add shortcuts and batch norms, ResNet50\'s names', () => {
    const { model } = ZOO_BUILDERS.resnet();
    expect(model.layers.filter((l) => l.getClassName() === 'Add').map((l) => l.name)).toEqual(['conv2_block1_add', 'conv2_block2_add', 'conv3_block1_add', 'conv3_block2_add', 'conv4_block1_add', 'conv4_block2_add']);
    expect(shapeOf(model, 'conv2_block2_out')).toEqual([null, 56, 56, 256]);
    expect(shapeOf(model, ZOO_BENCH_LAYERS.resnet)).toEqual([null, 14, 14, 1024]);
    expect(model.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(1 + 6 * 3 + 3);
    model.dispose();
  });

  test("inception-v3: Keras's InceptionV3 (include_top=False) layer for layer, + GAP + Dense(1), 21,804,833 parameters", () => {
    const { model, sidecar } = ZOO_BUILDERS['inception-v3']();
    // Keras: 21,802,784 without the top, plus the tutorial's Dense(1) over 2048 features.
    expect(model.countParams()).toBe(21_802_784 + 2049);
    expect(model.layers.filter((l) => l.getClassName() === 'Conv2D').at(-1)!.name).toBe('conv2d_93');
    expect(model.getLayer('batch_normalization_93').getConfig().scale).toBe(false);
    const mixed: [string, number[]][] = [
      ['mixed0', [35, 35, 256]],
      ['mixed2', [35, 35, 288]],
      ['mixed3', [17, 17, 768]],
      ['mixed4', [17, 17, 768]],
      ['mixed7', [17, 17, 768]],
      ['mixed8', [8, 8, 1280]],
      ['mixed9_0', [8, 8, 768]],
      ['concatenate', [8, 8, 768]],
      ['mixed10', [8, 8, 2048]],
    ];
    for (const [name, shape] of mixed) expect([name, shapeOf(model, name)]).toEqual([name, [null, ...shape]]);
    expect(model.layers.at(-1)!.name).toBe('dense');
    expect(sidecar.inputRange).toEqual([-1, 1]);
    model.dispose();
  });

  test('the same seed builds the same weights; another seed, others', () => {
    const weights = (seed: number) => {
      const { model } = ZOO_BUILDERS.resnet({ ...SMALL.resnet, seed });
      const w = model.getLayer('conv3_block1_2_conv').getWeights()[0].dataSync().slice();
      model.dispose();
      return Array.from(w);
    };
    expect(weights(1)).toEqual(weights(1));
    expect(weights(2)).not.toEqual(weights(1));
  });
});

describe('every command opens the saved fixtures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-zoo-'));
    for (const name of ZOO_NAMES) {
      const { model, sidecar } = ZOO_BUILDERS[name](SMALL[name]);
      await saveModel(model, path.join(dir, name), sidecar);
      model.dispose();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(ZOO_NAMES.map((n) => [n]))('%s: layers, activations, dream', async (name) => {
    const model = path.join(dir, name);
    const layer = ZOO_BENCH_LAYERS[name];
    const layers = await runCli(['layers', '-m', model]);
    expect(layers.stderr).toBe('');
    expect(layers.code).toBe(0);
    expect(layers.stdout.toString()).toContain(layer);
    const acts = await runCli(['activations', '-m', model, '--layer', layer, '--json', '-o', path.join(dir, `${name}-acts.png`), 'examples/' + 'cat.jpg']);
    expect([acts.code, acts.stderr.split('\n').find((l) => l.startsWith('cnnviz:'))]).toEqual([0, undefined]);
    const dream = await runCli(['dream', '-m', model, '--layer', layer, '--filters', '0-1', '--steps', '4', '--size', '48', '--json', '-o', path.join(dir, `${name}-dream.png`)]);
    expect([dream.code, dream.stderr.split('\n').find((l) => l.startsWith('cnnviz:'))]).toEqual([0, undefined]);
    expect(JSON.parse(dream.stdout.toString()).layer ?? layer).toBeDefined();
  }, 60_000);
});

/**
 * The gradient of a channel objective w.r.t. the picture, through the dream probe on wasm
 * (fused convs, our kernels), against tfjs's own unfused layers on the cpu backend: the same
 * fixture built at the picture's size (the weights do not depend on it), truncated at the layer.
 */
describe('fixture gradients through the dream probe agree with the cpu backend within 1e-4', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  async function compare(name: ZooName, opts: ZooOptions, layer: string, size: number, unit: number) {
    await initBackend('wasm');
    const loaded = loadedOf(name, ZOO_BUILDERS[name](opts).model);
    const probe = createProbe(loaded, channel({ layer: layerIndex(loaded, layer) }, [unit]).reads);
    const picture = tf.randomUniform([1, size, size, 3], loaded.meta.inputRange[0], loaded.meta.inputRange[1], 'float32', 11) as tf.Tensor4D;
    const pixels = picture.dataSync().slice();
    const objective = (out: tf.Tensor) => tf.mean(out.slice([0, 0, 0, unit], [-1, -1, -1, 1]));
    const got = tf.tidy(() => tf.grad((x: tf.Tensor) => objective(probe.apply(x as tf.Tensor4D)[0]))(picture).dataSync().slice());
    picture.dispose();
    loaded.model.dispose();

    await initBackend('cpu');
    const full = ZOO_BUILDERS[name]({ ...opts, inputSize: size }).model;
    const truncated = tf.model({ inputs: full.inputs, outputs: full.getLayer(layer).output as tf.SymbolicTensor });
    const x = tf.tensor4d(pixels, [1, size, size, 3]);
    const ref = tf.tidy(() => tf.grad((v: tf.Tensor) => objective(truncated.apply(v) as tf.Tensor))(x).dataSync().slice());
    x.dispose();
    full.dispose();
    await initBackend('wasm');
    expect(ref.some((v) => v !== 0)).toBe(true);
    expectClose(got, ref, 1e-4, `${name} ${layer}`);
  }

  // Quarter width: the cpu backend takes minutes on the full-width nets; the code paths are the same.
  test('inception-v3 (quarter width), mixed4 at native scale, 128 px', async () => {
    await compare('inception-v3', { width: 0.25 }, 'mixed4', 128, 5);
  }, 120_000);

  test('resnet (quarter width), the last block, 96 px', async () => {
    await compare('resnet', { width: 0.25 }, ZOO_BENCH_LAYERS.resnet, 96, 3);
  }, 60_000);
});

describe('memory stays flat over dream steps on each fixture (npm run soak -- --zoo: 1,000 steps each)', () => {
  test.each(ZOO_NAMES.map((n) => [n]))('%s: tensor count and wasm heap', (name) => {
    const loaded = loadedOf(name, ZOO_BUILDERS[name](SMALL[name]).model);
    const objective = channel({ layer: layerIndex(loaded, ZOO_BENCH_LAYERS[name]) }, [0, 1]);
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const samples: [number, number][] = [];
    dreamBatch(createProbe(loaded, objective.reads), objective, modelInput(loaded), unitPictures([0, 1]), { ...DEFAULTS, steps: 40, size: 48, seed: 3 }, () => {
      samples.push([tf.memory().numTensors, heap()]);
    });
    // Step 1 makes Adam's moments and redirection ends at step 16; from step 21 on, nothing may grow.
    expect(new Set(samples.slice(20).map((s) => s[0])).size).toBe(1);
    expect(new Set(samples.slice(20).map((s) => s[1])).size).toBe(1);
    loaded.model.dispose();
  }, 60_000);
});
