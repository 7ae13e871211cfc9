import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { describeObjective } from '../src/dream/objectives/bind.js';
import { parseObjective } from '../src/dream/objectives/parse.js';
import { logit } from '../src/dream/objectives/units.js';
import { createProbe } from '../src/dream/probe.js';
import { DEFAULTS, dreamBatch, unitPictures } from '../src/dream/render.js';
import { dreamSize, modelInput, resolveClass } from '../src/dream/setup.js';
import { DEFAULT_MODEL, loadModel, type LoadedModel } from '../src/model/load.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodePng } from '../src/image/io.js';
import { loadModelInput, topPredictions } from '../src/model/probe.js';
import { type Raster } from '../src/image/raster.js';
import { tempDir } from './helpers/models.js';

/**
 * Issue 15's acceptance for logit dreams: on the bundled cats/dogs model (one sigmoid unit,
 * P(dog)), the 256-step logit dream of each class, for seeds 1, 2 and 3, is classified as that
 * class with p >= 0.9 by the model itself. The dream is made as `cnnviz dream --objective logit
 * --class <c> --steps 256 --seed <s>` makes it, and scored as `cnnviz predict` scores its PNG.
 *
 * Six 256-step dreams take about 100-350 s under the test runner, too long for `npm test`, so this
 * runs only with CNNVIZ_ACCEPTANCE=1. The suite keeps the cheap check of the same rule (which
 * sign of the logit each class maximizes) on a hand-built one-unit model in dream.test.ts.
 */
const enabled = process.env.CNNVIZ_ACCEPTANCE === '1';
if (!enabled) console.warn('skipping the 6-dream logit acceptance check (about 100 s): run it with CNNVIZ_ACCEPTANCE=1');

let loaded: LoadedModel;

beforeAll(async () => {
  if (!enabled) return;
  await initBackend('wasm');
  loaded = await loadModel(DEFAULT_MODEL);
});

/** The model's probability for each class of a picture, as predict computes it from the PNG (resized to the model's input). */
async function classify(raster: Raster): Promise<number[]> {
  const file = path.join(tempDir(), 'dream.png');
  writeFileSync(file, await encodePng(raster));
  const { tensor } = await loadModelInput(loaded, file);
  const out = tf.tidy(() => loaded.model.predict(tensor) as tf.Tensor);
  tensor.dispose();
  const probs = topPredictions(out, loaded.meta.labels, 2);
  out.dispose();
  return loaded.meta.labels!.map((_, i) => probs.find((p) => p.index === i)!.probability);
}

const labels = ['cat', 'dog'];
const cases = labels.flatMap((label) => [1, 2, 3].map((seed) => [label, seed] as const));

(enabled ? describe : describe.skip)('logit dreams on the bundled one-unit sigmoid model', () => {
  test.each(cases)('--class %s --seed %i is classified as that class with p >= 0.9', async (label, seed) => {
    const input = modelInput(loaded);
    const units = describeObjective(loaded, parseObjective('logit(unit)')).unitCount!;
    const cls = resolveClass(label, loaded.meta.labels, units);
    expect(cls).toBe(labels.indexOf(label));
    const objective = logit([cls]);
    const run = dreamBatch(createProbe(loaded, objective.reads), objective, input, unitPictures([cls]), { ...DEFAULTS, steps: 256, size: dreamSize(input), seed });
    const p = await classify(run.images[0]);
    console.log(`logit dream --class ${label} --seed ${seed}: p(${label}) = ${p[cls].toFixed(6)} (1 - p = ${(1 - p[cls]).toExponential(2)}), objective ${run.objectives[0].toFixed(3)}`);
    expect(p[cls]).toBeGreaterThanOrEqual(0.9);
  });
});
