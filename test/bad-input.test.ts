import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { checkMemory, memoryBudget } from '../src/backend/memory.js';
import { UsageError } from '../src/errors.js';
import { checkPixelLimit } from '../src/image/io.js';
import { fromLayersModel, loadModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { checkActivationsMemory } from '../src/model/memory.js';
import { checkTutorialMemory, convolveMemory } from '../src/tutorial/memory.js';
import { ROOT, runCli } from './helpers/cli.js';
import { baseModels, pngClaiming, writeNonKerasH5, type FuzzCase } from './helpers/fuzz-corpus.js';
import { runBatch, type FuzzOutcome } from './helpers/fuzz-harness.js';
import { writeGraphModel } from './helpers/graph-fixture.js';
import { writeKeras2H5 } from './helpers/keras-fixtures.js';
import { edgeModel, saveModelTo, tempDir, validConvModel } from './helpers/models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const GB = 1024 ** 3;
const META: ModelMeta = { name: 'test', inputRange: [0, 1], inputRangeSource: 'default', extra: {} };

/** A model that takes any size: one 3x3 conv with 32 filters at full resolution. */
function freeSizeModel(): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 3] });
  const conv = tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', name: 'wide' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: conv });
}

describe('the pixel limit and the memory estimates', () => {
  test("the issue's example: a 16000x16000 image is refused from its size, naming the limit and the flag", () => {
    expect(() => checkPixelLimit('photo.png', 16000, 16000)).toThrow(
      new UsageError('photo.png is 16000x16000 = 256 megapixels, over the 100-megapixel limit: lift it with --max-pixels 300'),
    );
    expect(() => checkPixelLimit('photo.png', 10000, 10000)).not.toThrow();
    expect(() => checkPixelLimit('photo.png', 16000, 16000, 300)).not.toThrow();
  });

  test('convolve on 16000x16000 with a 8 GB budget is refused, and the --max-side it names fits that budget', () => {
    const budget = memoryBudget('cpu', (8 / 0.75) * GB);
    const need = (side: number) => convolveMemory(side, side, { channels: 1, kernels: 1, zoom: 1 });
    let message = '';
    try {
      checkTutorialMemory('convolve', 16000, 16000, need(16000), { budget });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^convolve on a 16000x16000 image needs about \d+ GB of memory, more than this machine can give \(8\.0 GB\): shrink the image with --max-side (\d+)$/);
    const side = Number(/--max-side (\d+)/.exec(message)![1]);
    expect(() => checkTutorialMemory('convolve', side, side, need(side), { budget })).not.toThrow();
    // The 10000x10000 photo of the issue measured 7.7 GB peak: the estimate must not be below it.
    expect(need(10000).total).toBeGreaterThan(7.7e9);
  });

  test('on the wasm backend the 4 GiB heap is the limit for tensors, whatever the machine has', () => {
    expect(memoryBudget('wasm', 256 * GB).tensors).toBe(3.5 * GB);
    expect(memoryBudget('cpu', 32 * GB)).toEqual({ total: 24 * GB, tensors: 24 * GB });
    expect(() => checkMemory({ total: 5 * GB, tensors: 4 * GB }, 'work', () => 'do less', memoryBudget('wasm', 256 * GB))).toThrow(/^work needs about 4\.0 GB of tensor memory, more than the wasm backend's heap \(3\.5 GB\): do less$/);
  });

  test('activations --size on a free-size model: refused where the maps would not fit, and the --size it names fits', () => {
    const loaded = fromLayersModel(freeSizeModel(), 'free.json', META);
    const budget = memoryBudget('wasm', 64 * GB);
    const err = (() => {
      try {
        checkActivationsMemory(loaded, [1], 4096, { budget });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(/^activations of layer wide at --size 4096 needs about \d+\.\d GB of tensor memory, more than the wasm backend's heap \(3\.5 GB\): lower it to --size (\d+)$/);
    const side = Number(/lower it to --size (\d+)/.exec(err!.message)![1]);
    expect(side).toBeGreaterThan(1000);
    expect(() => checkActivationsMemory(loaded, [1], side, { budget })).not.toThrow();
    // A fixed-size model is estimated at its own input size (--size does not apply to it).
    const fixed = fromLayersModel(edgeModel(), 'edge.json', META);
    expect(() => checkActivationsMemory(fixed, [0], 4096, { budget: memoryBudget('cpu', 4 * GB) })).not.toThrow();
    expect(() => checkActivationsMemory(fixed, [0], undefined, { budget: { total: 1000, tensors: 1000 } })).toThrow(/^activations of layer edges at the model's input size 16x16 needs about .* of tensor memory, more than this machine can give \(\d+ MB\): show fewer layers with --layer$/);
  });
});

// ---------------------------------------------------------------------------------------------
// docs/errors.md: every row's input is produced here, run, and checked against the row.

interface Row {
  id: string;
  exit: number;
  message: string;
}

/** The rows of the tables in docs/errors.md: | `id` | what | exit | `message` |. */
function documentedRows(): Row[] {
  const text = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  return [...text.matchAll(/^\| `([a-z0-9-]+)` \| .* \| (\d+) \| `(.*)` \|$/gm)].map((m) => ({ id: m[1], exit: Number(m[2]), message: m[3] }));
}

/** A row's message as a pattern: `<…>` matches whatever varies, the rest is literal. */
function rowPattern(message: string): RegExp {
  const parts = message.split(/<[^<>]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^cnnviz: ${parts.join('.+?')}$`);
}

describe('docs/errors.md is true', () => {
  let dir: string;
  const cases = new Map<string, string[]>();
  let outcomes: Map<string, FuzzOutcome>;

  beforeAll(async () => {
    dir = tempDir('cnnviz-errors-');
    const model = await saveModelTo(edgeModel(), path.join(dir, 'edge'));
    const photo = path.join(dir, 'photo.png');
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 10, g: 200, b: 90 } } }).png().toBuffer();
    writeFileSync(photo, png);
    const file = (name: string, bytes: string | Uint8Array) => {
      const p = path.join(dir, name);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, bytes);
      return p;
    };
    const activations = (image: string, ...more: string[]) => ['activations', image, '-m', model, '-o', path.join(dir, 'out.png'), ...more];
    const layers = (m: string) => ['layers', '-m', m];

    // Images
    cases.set('image-missing', activations(path.join(dir, 'nope.jpg')));
    mkdirSync(path.join(dir, 'folder.jpg'));
    cases.set('image-folder', activations(path.join(dir, 'folder.jpg')));
    cases.set('image-empty', activations(file('empty.jpg', '')));
    cases.set('image-stdin-empty', activations('-'));
    cases.set('image-unknown', activations(file('notes.png', 'these are notes, not pixels')));
    const jpg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
    cases.set('image-truncated-jpeg', activations(file('cut.jpg', jpg.subarray(0, jpg.length >> 1))));
    const noisy = await sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    const damaged = Buffer.from(noisy);
    damaged.fill(0x55, noisy.length >> 1, (noisy.length >> 1) + 64);
    cases.set('image-corrupt-png', activations(file('damaged.png', damaged)));
    cases.set('image-too-many-pixels', activations(file('lying.png', pngClaiming(png, 100000, 100000))));
    // 3600 megapixels: more than any machine this runs on has, whatever the backend.
    cases.set('work-too-large', ['channels', file('huge.png', pngClaiming(png, 60000, 60000)), '--max-side', '0', '--max-pixels', '4000', '-o', path.join(dir, 'out.png')]);
    cases.set('work-too-large-wasm', ['convolve', path.join(dir, 'huge.png'), '--max-side', '0', '--max-pixels', '4000', '--backend', 'wasm', '-o', path.join(dir, 'out.png')]);
    const free = await saveModelTo(freeSizeModel(), path.join(dir, 'free'));
    cases.set('activations-too-large', ['activations', photo, '-m', free, '--layer', '1', '--size', '4096', '--backend', 'wasm', '-o', path.join(dir, 'out.png')]);
    cases.set('bad-max-pixels', activations(photo, '--max-pixels', '0.5'));

    // Model files
    cases.set('model-missing', layers(path.join(dir, 'no-such-model')));
    mkdirSync(path.join(dir, 'empty-folder'));
    cases.set('model-folder-empty', layers(path.join(dir, 'empty-folder')));
    cases.set('model-not-json', layers(file('notjson/model.json', '{"format": "layers-mo')));
    cases.set('model-not-object', layers(file('list/model.json', '[1, 2, 3]')));
    cases.set('model-unknown-format', layers(file('other/model.json', '{"format": "onnx-ish"}')));
    const json = JSON.parse(readFileSync(model, 'utf8'));
    cases.set('manifest-malformed', layers(file('edge/manifest.json', JSON.stringify({ ...json, weightsManifest: { paths: 'weights.bin' } }))));
    const noShard = await saveModelTo(edgeModel(), path.join(dir, 'noshard'));
    rmSync(path.join(dir, 'noshard', 'weights.bin'));
    cases.set('shard-missing', layers(noShard));
    const short = await saveModelTo(edgeModel(), path.join(dir, 'short'));
    truncateSync(path.join(dir, 'short', 'weights.bin'), 100);
    cases.set('shard-size', layers(short));
    const badConfig = JSON.parse(JSON.stringify(json));
    badConfig.modelTopology.config.layers[0].config.filters = 'two';
    cases.set('model-config-bad', layers(file('edge/badconfig.json', JSON.stringify(badConfig))));
    const graph = writeGraphModel(path.join(dir, 'graph'));
    // The Mean's axes read back as 5 and 6: no such axes on a 4-D map.
    const shard = readFileSync(path.join(dir, 'graph', 'group1-shard1of1.bin'));
    shard.set(new Uint8Array(Int32Array.of(5, 6).buffer), shard.length - 8);
    writeFileSync(path.join(dir, 'graph', 'group1-shard1of1.bin'), shard);
    cases.set('graph-unrunnable', layers(graph));

    cases.set('keras-unknown', layers(file('notes.h5', 'just text')));
    const h5 = readFileSync(await writeKeras2H5(path.join(dir, 'whole.h5'), edgeModel()));
    cases.set('h5-truncated', layers(file('cut.h5', h5.subarray(0, h5.length >> 1))));
    const corrupt = Buffer.from(h5);
    corrupt.fill(0xab, 100, 400);
    cases.set('h5-corrupt', layers(file('corrupt.h5', corrupt)));
    cases.set('h5-weights-only', layers(await writeKeras2H5(path.join(dir, 'model.weights.h5'), edgeModel(), { weightsOnly: true })));
    cases.set('h5-not-keras', layers(await writeNonKerasH5(path.join(dir, 'measurements.h5'))));
    const { keras } = await baseModels(path.join(dir, 'bases'));
    const zip = readFileSync(keras);
    cases.set('keras-zip-corrupt', layers(file('cut.keras', zip.subarray(0, zip.length >> 1))));
    const entries = unzipSync(new Uint8Array(zip));
    const { ['config.json']: config, ...withoutConfig } = entries;
    cases.set('keras-no-config', layers(file('noconfig.keras', zipSync(withoutConfig))));
    const k3 = JSON.parse(new TextDecoder().decode(config));
    k3.config.layers[2] = null;
    cases.set('keras-config-malformed', layers(file('nulllayer.keras', zipSync({ ...entries, 'config.json': strToU8(JSON.stringify(k3)) }))));
    const topology = edgeModel().toJSON(null, false) as unknown as { class_name: string; config: { layers: Array<{ name?: string; class_name: string; config: Record<string, unknown> }> } };
    const wider = JSON.parse(JSON.stringify(topology));
    wider.config.layers.find((l: { config: { name: string } }) => l.config.name === 'head').config.units = 7;
    cases.set('keras-weight-shape', layers(await writeKeras2H5(path.join(dir, 'wider.h5'), edgeModel(), { config: wider })));
    const lambda = JSON.parse(JSON.stringify(topology));
    lambda.config.layers[1] = { class_name: 'Lambda', config: { name: 'scale', function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda', arguments: {} } };
    cases.set('keras-lambda', layers(await writeKeras2H5(path.join(dir, 'lambda.h5'), edgeModel(), { config: lambda })));

    // Flags, outputs, class names and many inputs
    cases.set('unknown-command', ['frobnicate', '--help']);
    cases.set('layer-out-of-range', activations(photo, '--layer', '99'));
    cases.set('filter-out-of-range', ['dream', '-m', model, '--layer', 'edges', '--filter', '9', '-o', path.join(dir, 'out.png')]);
    cases.set('render-scale-native-impossible', ['dream', '-m', model, '--objective', 'logit', '--class', '1', '--render-scale', 'native', '-o', path.join(dir, 'out.png')]);
    const validConv = await saveModelTo(validConvModel(), path.join(dir, 'valid-conv'));
    cases.set('dream-too-small', ['dream', '-m', validConv, '--layer', 'grid', '--size', '8', '--transforms', 'none', '-o', path.join(dir, 'out.png')]);
    cases.set('neuron-outside-native-grid', ['dream', '-m', validConv, '--layer', 'grid', '--objective', 'neuron', '--at', '10,10', '--size', '16', '--transforms', 'none', '--render-scale', 'native', '-o', path.join(dir, 'out.png')]);
    const dream = (...more: string[]) => ['dream', '-m', model, '--steps', '1', '-o', path.join(dir, 'out.png'), ...more];
    cases.set('objective-syntax', dream('--objective', 'channel(edges 1)'));
    cases.set('objective-unknown-function', dream('--objective', 'chanel(edges, 1)'));
    cases.set('objective-channel-out-of-range', dream('--objective', 'channel(edges, 9)'));
    cases.set('objective-argument-out-of-range', dream('--objective', 'channel(edges, 0) - 5 * diversity(edges, keep=1.5)', '--diversity', '2'));
    cases.set('direction-file-bad', dream('--objective', 'direction(edges)', '--direction', file('direction.json', '[1, "two"]')));
    cases.set('bad-choice', activations(photo, '--cmap', 'nope'));
    cases.set('stdout-twice', ['activations', photo, '-m', model, '-o', '-', '--json']);
    cases.set('output-folder-missing', ['activations', photo, '-m', model, '-o', path.join(dir, 'no', 'such', 'out.png')]);
    cases.set('output-under-file', ['activations', photo, '-m', model, '-o', path.join(photo, 'out.png')]);
    cases.set('labels-missing', ['predict', photo, '-m', model, '--labels', path.join(dir, 'no-labels.txt')]);
    cases.set('labels-count', ['predict', photo, '-m', model, '--labels', file('three.txt', 'a\nb\nc\n')]);
    cases.set('some-inputs-failed', ['predict', photo, path.join(dir, 'missing.png'), '-m', model]);

    // Attribution (cam, saliency)
    const cam = (...more: string[]) => ['cam', photo, '-m', model, '-o', path.join(dir, 'out.png'), ...more];
    cases.set('cam-class-unknown', cam('--class', 'zebra'));
    cases.set('cam-class-and-top', cam('--class', '1', '--top', '2'));
    cases.set('cam-layer-not-map', cam('--layer', 'head'));
    cases.set('cam-native-impossible', cam('--layer', 'edges', '--input-scale', 'native'));
    cases.set('cam-one-file-many-images', ['saliency', photo, photo, '-m', model, '-o', path.join(dir, 'out.png')]);
    cases.set('sanity-method-unknown', ['sanity', photo, '-m', model, '--methods', 'gradcam,magic', '-o', path.join(dir, 'out.png')]);
    cases.set('sanity-graph-model', ['sanity', photo, '-m', writeGraphModel(path.join(dir, 'graph-sane')), '-o', path.join(dir, 'out.png')]);
    cases.set('cam-evaluate-missing', ['cam', '--evaluate', path.join(dir, 'no-such-folder'), '-m', model]);
    mkdirSync(path.join(dir, 'no-photos-to-evaluate'));
    cases.set('cam-evaluate-no-photos', ['cam', '--evaluate', path.join(dir, 'no-photos-to-evaluate'), '-m', model]);
    cases.set('cam-evaluate-and-images', ['cam', photo, '--evaluate', dir, '-m', model]);
    cases.set('cam-evaluate-native', ['cam', '--evaluate', dir, '--input-scale', 'native', '-m', model]);

    // Dataset index
    const index = (...more: string[]) => ['index', photo, '-m', model, '-o', path.join(dir, 'idx'), ...more];
    cases.set('index-bad-shard', index('--shard', '0/2'));
    cases.set('index-layer-not-map', index('--layers', 'head'));
    file('broken-index/manifest.json', '{"format": "cnnviz-ind');
    cases.set('index-unreadable', ['index', photo, '-m', model, '-o', path.join(dir, 'broken-index')]);
    mkdirSync(path.join(dir, 'not-an-index'));
    cases.set('index-not-an-index', ['index', '--merge', path.join(dir, 'not-an-index'), '-o', path.join(dir, 'merged')]);
    mkdirSync(path.join(dir, 'no-photos'));
    cases.set('index-no-photos', ['index', path.join(dir, 'no-photos'), '-m', model, '-o', path.join(dir, 'idx2')]);

    // Dataset examples: an index of the one photo over layer 'edges' (2 channels)
    const idx = path.join(dir, 'edges-idx');
    const built = await runCli(['index', photo, '-m', model, '--layers', 'edges', '-o', idx, '--workers', '1']);
    expect(built.code).toBe(0);
    const examples = (...more: string[]) => ['examples', '-o', path.join(dir, 'out.png'), ...more];
    cases.set('examples-nothing-to-rank', examples('--layer', 'edges', '-m', model));
    cases.set('examples-photos-and-index', examples(photo, '--index', idx, '--layer', 'edges'));
    cases.set('examples-filter-and-filters', examples('--index', idx, '--layer', 'edges', '--filter', '1', '--filters', '0-1'));
    cases.set('examples-not-an-index', examples('--index', path.join(dir, 'not-an-index'), '--layer', 'edges'));
    cases.set('examples-layer-not-map', examples(photo, '-m', model, '--layer', 'head'));
    cases.set('examples-layer-not-indexed', examples('--index', idx, '--layer', 'pool'));
    cases.set('examples-filter-out-of-range', examples('--index', idx, '--layer', 'edges', '--filter', '9'));
    mkdirSync(path.join(dir, 'no-dreams'));
    cases.set('examples-dream-missing', examples('--index', idx, '--layer', 'edges', '--with-dream', path.join(dir, 'no-dreams')));

    // Reports
    cases.set('report-no-images', ['report', '-m', model, '-o', path.join(dir, 'site')]);
    cases.set('report-merge-and-images', ['report', '--merge', path.join(dir, 'not-an-index'), '--images', path.join(dir, 'no-photos'), '-o', path.join(dir, 'site')]);
    cases.set('report-not-a-report', ['report', '--merge', path.join(dir, 'not-an-index'), '-o', path.join(dir, 'site')]);

    const list: FuzzCase[] = [...cases].map(([id, argv]) => ({ id, argv, what: id, output: path.join(dir, 'out.png') }));
    const report = await runBatch(list, dir, 'errors', 300_000);
    expect(report.died).toBeUndefined();
    outcomes = new Map(report.outcomes.map((o) => [o.fuzzCase.id, o]));
  }, 360_000);

  test('every documented class is produced by this test, and every class produced is documented', () => {
    const rows = documentedRows();
    expect(rows.length).toBeGreaterThanOrEqual(30);
    expect(rows.map((r) => r.id).sort()).toEqual([...cases.keys()].sort());
  });

  test.each(documentedRows().map((r) => [r.id, r] as const))('%s: the exit code and the one-line message of its row', (_id, row) => {
    const o = outcomes.get(row.id)!;
    expect({ code: o.code, stderr: o.stderr }).toEqual({ code: row.exit, stderr: expect.stringMatching(rowPattern(row.message)) });
    expect(o.stderr.split('\n')).toHaveLength(1);
    expect(existsSync(path.join(dir, 'out.png'))).toBe(false);
  });
});

describe('defects the fuzzer found, each pinned', () => {
  let dir: string;
  let keras: string;
  beforeAll(async () => {
    dir = tempDir('cnnviz-fuzzfound-');
    ({ keras } = await baseModels(path.join(dir, 'bases')));
  });
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);

  test('a config value of 10,000 characters that tfjs quotes back is cut to one short line', async () => {
    const model = await saveModelTo(edgeModel(), path.join(dir, 'long'));
    const json = JSON.parse(readFileSync(model, 'utf8'));
    json.modelTopology.config.layers[0].config.filters = 'a'.repeat(10000);
    writeFileSync(model, JSON.stringify(json));
    const err = await failure(loadModel(model));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(/^cannot build model from .*model\.json: .*filters.*a…$/);
    expect(err!.message.length).toBeLessThan(300);
  });

  test('a .keras whose model.weights.h5 is cut names the .keras file, not the temporary copy of its weights', async () => {
    const entries = unzipSync(new Uint8Array(readFileSync(keras)));
    const inner = entries['model.weights.h5'];
    const file = path.join(dir, 'cut-weights.keras');
    writeFileSync(file, zipSync({ ...entries, 'model.weights.h5': inner.subarray(0, inner.length >> 1) }));
    const err = await failure(loadModel(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toBe(`cannot open ${file} (its model.weights.h5): the file is truncated (${inner.length >> 1} of ${inner.length} bytes); copy or download it again`);
  });

  test('a Keras layer entry without a class_name says so instead of "class undefined"', async () => {
    const topology = edgeModel().toJSON(null, false) as unknown as { class_name: string; config: { layers: Array<Record<string, unknown>> } };
    delete topology.config.layers[1].class_name;
    const file = await writeKeras2H5(path.join(dir, 'noclass.h5'), edgeModel(), { config: topology });
    const err = await failure(loadModel(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toBe(`cannot load ${file}: layer entry 1 has no class_name: the model config is malformed (corrupt file?)`);
  });

  test('a weightsManifest whose weight shape is not a list of sizes is refused before any buffer is sized from it', async () => {
    const model = await saveModelTo(edgeModel(), path.join(dir, 'shape'));
    const json = JSON.parse(readFileSync(model, 'utf8'));
    json.weightsManifest[0].weights[0].shape = [3, -1e9];
    writeFileSync(model, JSON.stringify(json));
    const err = await failure(loadModel(model));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(/^the weightsManifest in .*model\.json is malformed: weight '.+' has shape \[3,-1000000000\], not a list of sizes \(corrupt file\?\)$/);
  });

  test('a graph conv with a stride of a million is refused at load, before the wasm kernel would abort its instance', async () => {
    const file = writeGraphModel(path.join(dir, 'stride'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.node.find((n: { op: string }) => n.op === 'Conv2D').attr.strides.list.i = ['1', '1000000', '1000000', '1'];
    writeFileSync(file, JSON.stringify(json));
    const err = await failure(loadModel(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toBe(`cannot load graph model ${file}: node edges/Conv2D has strides ["1","1000000","1000000","1"], not window sizes from 1 to 4096 (corrupt file?)`);
  });

  test('a layers model whose input dtype is not a tfjs dtype is refused at load, not when the image is fed', async () => {
    const model = await saveModelTo(edgeModel(), path.join(dir, 'dtype'));
    const json = JSON.parse(readFileSync(model, 'utf8'));
    json.modelTopology.config.layers[0].config.dtype = {};
    writeFileSync(model, JSON.stringify(json));
    const err = await failure(loadModel(model));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toBe(`model ${model} takes input of dtype {}: cnnviz feeds images as float32 (corrupt config?)`);
  });

  test('a graph pool whose ksize list is empty is refused at load, not drawn as a NaN-sized grid', async () => {
    const file = writeGraphModel(path.join(dir, 'ksize'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.node.find((n: { op: string }) => n.op === 'MaxPool').attr.ksize.list = [];
    writeFileSync(file, JSON.stringify(json));
    const err = await failure(loadModel(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toBe(`cannot load graph model ${file}: node pool/MaxPool has ksize {"list":[]}, not window sizes from 1 to 4096 (corrupt file?)`);
  });

  test('a graph model.json whose node list is a number is a usage error naming the file', async () => {
    const file = writeGraphModel(path.join(dir, 'nodes'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.node = -1;
    writeFileSync(file, JSON.stringify(json));
    const err = await failure(loadModel(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(new RegExp(`^cannot build graph model from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});
