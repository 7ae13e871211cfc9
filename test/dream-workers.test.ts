import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { RuntimeError, UsageError } from '../src/errors.js';
import { shorthandExpression } from '../src/dream/objectives/bind.js';
import { DEFAULTS, type DreamSettings } from '../src/dream/render.js';
import { dreamUnits, type DreamProgress } from '../src/dream/schedule.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { edgeModel, saveModelTo, tempDir } from './helpers/models.js';

// Workers import compiled JS: from the TypeScript source the caller names the built job module.
// Workers run the built library, not the TypeScript source this test imports.
const DIST = fileURLToPath(new URL('../dist', import.meta.url));

let dir: string;
let loaded: LoadedModel;
let broken: LoadedModel;
const settings = (over: Partial<DreamSettings> = {}): DreamSettings => ({ ...DEFAULTS, steps: 5, size: 16, seed: 3, ...over });
/** What `--objective channel --layer <layer>` renders. */
const channelOf = (layer: number) => ({ expression: shorthandExpression({ objective: 'channel', layer }) });

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('cnnviz-dream-workers-');
  const edge = edgeModel();
  loaded = await loadModel(await saveModelTo(edge, path.join(dir, 'edge')));
  edge.dispose();
  // The same model with a NaN in its kernel: every objective is NaN from the first step.
  const nan = edgeModel();
  const [kernel, bias] = nan.getLayer('edges').getWeights();
  const poisoned = tf.tidy(() => kernel.add(tf.scalar(NaN)));
  nan.getLayer('edges').setWeights([poisoned, bias]);
  broken = await loadModel(await saveModelTo(nan, path.join(dir, 'nan')));
  poisoned.dispose();
  nan.dispose();
});

describe('dream progress', () => {
  test.each([1, 2])('goes from 0 to --steps exactly once over 3 batches on %i worker(s)', async (workers) => {
    const seen: DreamProgress[] = [];
    const run = await dreamUnits(loaded, { objective: channelOf(1), units: [0, 1, 0, 1, 0], settings: settings() }, { batchSize: 2, workers, compiledDir: DIST }, (p) => seen.push(p));
    expect(run.workers).toBe(workers);
    expect(seen.every((p) => p.total === 5 && p.batches === 3)).toBe(true);
    expect(seen.length).toBe(3 * 5);
    const done = seen.map((p) => p.done);
    expect(done.every((d, i) => d >= 0 && d <= 5 && (i === 0 || d >= done[i - 1]))).toBe(true);
    expect(done[done.length - 1]).toBe(5);
    expect(done.filter((d) => d === 5)).toHaveLength(1);
  });
});

describe('errors from worker threads keep their kind (and so their exit code)', () => {
  test('a NaN objective is a RuntimeError (exit 1)', async () => {
    const err = await dreamUnits(broken, { objective: channelOf(1), units: [0, 1], settings: settings() }, { batchSize: 1, workers: 2, compiledDir: DIST }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    // One unit per batch: the NaN is picture 1 of whichever batch stopped first.
    expect((err as Error).message).toMatch(/^objective became NaN at step 1 for picture 1 \(channel\(pool, unit\)\): no picture written/);
  });

  test('a neuron position on a layer without a grid is a UsageError (exit 2)', async () => {
    const flat = loaded.graph.layers.findIndex((l) => l.name === 'flat');
    const objective = { expression: shorthandExpression({ objective: 'neuron', layer: flat, at: [1, 1] }) };
    const err = await dreamUnits(loaded, { objective, units: [0, 1], settings: settings() }, { batchSize: 1, workers: 2, compiledDir: DIST }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^neuron at=1:1 needs a layer with a grid, but flat has output \[128\]/);
  });
});
