import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { needsFixedInput } from '../src/model/fixed-input.js';
import { fromLayersModel, loadModel, type LoadedModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { channel } from '../src/dream/objectives/units.js';
import { type Probe } from '../src/dream/probe.js';
import { DEFAULTS, dreamBatch, unitPictures, type DreamSettings } from '../src/dream/render.js';
import { checkNativeSize, dreamSizeWarning, modelInput, renderScaleFor, smallestSeenSide } from '../src/dream/setup.js';
import { layerTarget, type Target } from '../src/dream/target.js';
import { ROOT, runCli } from './helpers/cli.js';
import { writeGraphModel } from './helpers/graph-fixture.js';
import { edgeModel, saveModelTo, tempDir, validConvModel } from './helpers/models.js';

const META: ModelMeta = { name: 'test', inputRange: [0, 1], inputRangeSource: 'default', extra: {} };
const FAST: DreamSettings = { ...DEFAULTS, steps: 2, seed: 7, transforms: 'none' };

beforeAll(async () => {
  await initBackend('wasm');
});

/** A one-read target as a probe. */
function asProbe(t: Target): Probe {
  return { names: [t.name], shapes: [t.shape], notes: [undefined], apply: (x, o) => [t.apply(x, o)] };
}

/** The layer as a probe that records the input size the network is fed at every call. */
function recording(target: Target, seen: number[][]): Probe {
  return asProbe({ ...target, apply: (x, o) => (seen.push(x.shape.slice(1, 3)), target.apply(x, o)) });
}

/** A channel dream of `units` of layer `layer`, read through `probe` (whose one output is that layer's). */
function channelDream(probe: Probe, layer: number, input: ReturnType<typeof modelInput>, units: number[], settings: DreamSettings) {
  const objective = channel({ layer }, units);
  return dreamBatch(probe, objective, input, unitPictures(units), settings);
}

describe('render scale', () => {
  const conv = fromLayersModel(validConvModel(), 'valid-conv', META);
  const grid = conv.graph.layers.findIndex((l) => l.name === 'grid');

  test('native feeds the network the picture at its own size, fit at the model input size; scoring follows', () => {
    const seen: number[][] = [];
    const target = recording(layerTarget(conv, grid), seen);
    const native = channelDream(target, grid, modelInput(conv), [0, 1], { ...FAST, size: 20, renderScale: 'native' });
    expect(seen.length).toBe(FAST.steps + 1); // every step and the final score
    expect(new Set(seen.map(String))).toEqual(new Set(['20,20']));
    seen.length = 0;
    // After the first call: the probe model and the colour basis are built once and cached.
    const before = tf.memory().numTensors;
    const fit = channelDream(target, grid, modelInput(conv), [0, 1], { ...FAST, size: 20, renderScale: 'fit' });
    expect(new Set(seen.map(String))).toEqual(new Set(['32,32']));
    expect(tf.memory().numTensors).toBe(before);
    channelDream(target, grid, modelInput(conv), [0, 1], { ...FAST, size: 20, renderScale: 'native' });
    expect(tf.memory().numTensors).toBe(before);
    // Both paint the same 20 px picture: only what the network saw differs.
    expect([native.images[0].width, fit.images[0].width]).toEqual([20, 20]);
  });

  test('with the standard transforms, native sizes vary around the picture, never down to the model input', () => {
    const seen: number[][] = [];
    channelDream(recording(layerTarget(conv, grid), seen), grid, modelInput(conv), [0], { ...FAST, steps: 6, transforms: 'standard', size: 64, renderScale: 'native' });
    const sides = seen.slice(0, -1).map(([h]) => h);
    // pad 12, jitter 8, scale 0.9-1.1, jitter 4 on 64 px: 68-84 px.
    for (const s of sides) expect(s).toBeGreaterThanOrEqual(smallestSeenSide(64, 'standard'));
    expect(Math.max(...sides)).toBeLessThanOrEqual(84);
    expect(smallestSeenSide(64, 'standard')).toBe(Math.floor(0.9 * 80) - 4);
    expect(seen[seen.length - 1]).toEqual([64, 64]); // the final score: the untransformed picture
  });

  test('a fully convolutional path runs natively; a Flatten on the way needs the fixed size, named', () => {
    expect(needsFixedInput(conv, [grid, conv.graph.layers.length - 1])).toEqual({ fixed: false });
    const edge = fromLayersModel(edgeModel(), 'edge', META);
    const index = (name: string) => edge.graph.layers.findIndex((l) => l.name === name);
    expect(needsFixedInput(edge, [index('pool')])).toEqual({ fixed: false });
    expect(needsFixedInput(edge, [index('head')])).toEqual({ fixed: true, because: "flat (Flatten) needs the model's 16x16 input to reach head" });
    expect(renderScaleFor(edge, [index('pool')])).toBe('native');
    expect(renderScaleFor(edge, [index('head')])).toBe('fit');
    expect(renderScaleFor(edge, [index('pool')], 'fit')).toBe('fit');
    expect(() => renderScaleFor(edge, [index('head')], 'native')).toThrow(new UsageError("--render-scale native: flat (Flatten) needs the model's 16x16 input to reach head; use --render-scale fit"));
  });

  test('graph models: one run at a second size decides; a placeholder of one size keeps them at fit', async () => {
    const dir = tempDir('cnnviz-render-scale-graph-');
    const [fixed, free] = await Promise.all([loadModel(writeGraphModel(path.join(dir, 'fixed'))), loadModel(writeGraphModel(path.join(dir, 'free'), { anySize: true }))]);
    const last = (m: LoadedModel) => m.graph.layers.length - 1;
    // tfjs's executor refuses a picture of another size than the placeholder's: that is the answer.
    const verdict = needsFixedInput(fixed, [last(fixed)]);
    expect(verdict.fixed).toBe(true);
    expect(verdict.because).toMatch(/^the graph does not run at 40x40 on the way to .*must be \[-1,8,8,1\].*so it needs the model's 8x8 input$/);
    expect(renderScaleFor(fixed, [last(fixed)])).toBe('fit');
    expect(() => renderScaleFor(fixed, [last(fixed)], 'native')).toThrow(/^--render-scale native: the graph does not run at 40x40/);
    expect(needsFixedInput(free, [last(free)])).toEqual({ fixed: false });
    expect(renderScaleFor(free, [last(free)])).toBe('native');
  });

  test('a picture too small to reach the layer at native scale is refused with the smallest size that works', () => {
    const target = asProbe(layerTarget(conv, grid));
    const input = modelInput(conv);
    expect(() => checkNativeSize(target, input, 11, 'none')).not.toThrow();
    expect(() => checkNativeSize(target, input, 10, 'none')).toThrow(new UsageError('--size 10 is too small for grid at native scale: the network sees the picture at its own size and that is too small to reach the layer; use --size 11 or more, or --render-scale fit'));
    // The standard transforms shrink the 8 px picture to floor(0.9 * 24) - 4 = 17 px: enough.
    expect(() => checkNativeSize(target, input, 8, 'standard')).not.toThrow();
  });

  test('the warning about a picture larger than a fixed input applies to fit only', () => {
    const input = modelInput(conv);
    expect(dreamSizeWarning(input, 64, 'fit')).toMatch(/--size 64: the model takes 32x32 only/);
    expect(dreamSizeWarning(input, 64, 'native')).toBeUndefined();
  });
});

describe('cnnviz dream --render-scale', () => {
  let dir: string;
  let conv: string;
  let edge: string;
  beforeAll(async () => {
    dir = tempDir('cnnviz-render-scale-');
    conv = await saveModelTo(validConvModel(), path.join(dir, 'conv'));
    edge = await saveModelTo(edgeModel(), path.join(dir, 'edge'));
  });
  const dream = (model: string, ...args: string[]) => runCli(['dream', '-m', model, '--steps', '4', '--seed', '7', '--json', '-o', path.join(dir, 'out.png'), ...args]);

  test('the default is native where the layer allows, fit after a Flatten; --json says which', async () => {
    const [pool, head, fit] = await Promise.all([dream(edge, '--layer', 'pool'), dream(edge, '--objective', 'logit', '--class', '1'), dream(edge, '--layer', 'pool', '--render-scale', 'fit')]);
    expect([pool.code, head.code, fit.code]).toEqual([0, 0, 0]);
    expect(head.stderr).toBe('');
    const scale = (r: { stdout: Buffer }) => JSON.parse(r.stdout.toString()).settings.renderScale;
    expect([scale(pool), scale(head), scale(fit)]).toEqual(['native', 'fit', 'fit']);
  });

  test('explicit native on a Flatten path and a too-small native picture are one-line usage errors', async () => {
    const [flat, small] = await Promise.all([dream(edge, '--objective', 'logit', '--class', '1', '--render-scale', 'native'), dream(conv, '--layer', 'grid', '--size', '8', '--transforms', 'none')]);
    expect(flat).toMatchObject({ code: 2, stderr: "cnnviz: --render-scale native: flat (Flatten) needs the model's 16x16 input to reach head; use --render-scale fit\n" });
    expect(small).toMatchObject({ code: 2, stderr: 'cnnviz: --size 8 is too small for grid at native scale: the network sees the picture at its own size and that is too small to reach the layer; use --size 11 or more, or --render-scale fit\n' });
    // The advice holds: the size it names runs, and so does fit at the small size.
    const [named, fit] = await Promise.all([dream(conv, '--layer', 'grid', '--size', '11', '--transforms', 'none'), dream(conv, '--layer', 'grid', '--size', '8', '--transforms', 'none', '--render-scale', 'fit')]);
    expect([named.code, fit.code]).toEqual([0, 0]);
  });

  test('a neuron renders at fit scale unless native is asked for; at native its --at must be in the smaller grid', async () => {
    const neuron = ['--layer', 'grid', '--objective', 'neuron', '--size', '16', '--transforms', 'none'];
    const [byDefault, centre, outside] = await Promise.all([
      dream(conv, ...neuron, '--at', '10,10'),
      runCli(['dream', '-m', conv, ...neuron, '--render-scale', 'native', '--steps', '2', '--seed', '7', '--json'], { cwd: dir }),
      dream(conv, ...neuron, '--at', '10,10', '--render-scale', 'native'),
    ]);
    expect(byDefault.code).toBe(0);
    expect(JSON.parse(byDefault.stdout.toString()).settings.renderScale).toBe('fit'); // 10,10 is in the 22x22 grid of 32 px
    expect(centre.code).toBe(0);
    // The grid's size follows the picture's at native scale, so the name says centre, not x11y11.
    expect(JSON.parse(centre.stdout.toString()).output).toBe('dream.grid.0.neuron-centre.png');
    expect(outside).toMatchObject({ code: 2, stderr: "cnnviz: --at 10,10 is outside grid's grid at native scale: a 16 px picture reaches it as small as 6x6 (x 0-5, y 0-5); use --render-scale fit for the model's own grid\n" });
  });

  // The pictures don't change where the user didn't ask: explicit fit is the build before
  // --render-scale existed. Needs that build (CNNVIZ_REFERENCE_ROOT, as in optimizers.test.ts);
  // compared with itself the check could not fail, so it is skipped then too.
  const reference = path.resolve(ROOT, process.env.CNNVIZ_REFERENCE_ROOT ?? '../main');
  const baseline = path.join(reference, 'bin/cnnviz.js');
  const haveBaseline = reference !== ROOT && existsSync(path.join(reference, 'dist/cli/main.js'));
  const withBaseline = haveBaseline ? test : test.skip;
  if (!haveBaseline) console.warn(`skipping the byte-identity check against the earlier build: ${reference}/dist is absent or is this checkout (set CNNVIZ_REFERENCE_ROOT)`);
  withBaseline('on the bundled model, --render-scale fit gives the earlier build\'s bytes; native differs', async () => {
    const flags = ['dream', '--layer', '25', '--filter', '7', '--steps', '8', '--seed', '7', '-o', '-'];
    const { spawnSync } = await import('node:child_process');
    const before = spawnSync(process.execPath, [baseline, ...flags], { env: { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm' } });
    const [fit, native] = await Promise.all([runCli([...flags, '--render-scale', 'fit']), runCli(flags)]);
    expect([before.status, fit.code, native.code]).toEqual([0, 0, 0]);
    expect(fit.stdout.equals(before.stdout)).toBe(true);
    expect(native.stdout.equals(before.stdout)).toBe(false);
    const info = await sharp(native.stdout).metadata();
    expect([info.width, info.height]).toEqual([128, 128]);
  });
});
