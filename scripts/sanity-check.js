// Issue 20's acceptance 2 (`npm run sanity-check`): cascading randomization of MobileNet
// (Adebayo et al. 2018) over 20 val photos (the first 10 cats and 10 dogs by name), through
// the library exactly as `cnnviz sanity` runs it. Prints, per cascade step, the median over the
// photos of each method's Spearman correlation with its map under the trained weights.
// Target: Grad-CAM, vanilla and SmoothGrad below 0.3 by the time half of the layers with
// weights are randomized (step ceil(n/2) of n, batch norms counted: they have weights).
//
//   node scripts/sanity-check.js [--per-class 10] [--methods gradcam,vanilla,smoothgrad,guided] [--at 0,1,2,...] [--seed 0] [--json]
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../dist/backend/select.js';
import { loadModel } from '../dist/model/load.js';
import { loadModelInput } from '../dist/model/probe.js';
import { median, sanityCheck, SANITY_DEFAULT_METHODS } from '../dist/attribution/sanity.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
if (!existsSync(MOBILENET) || !existsSync(VAL)) {
  console.error(`sanity-check: skipped, ${existsSync(MOBILENET) ? VAL : MOBILENET} is absent (it needs ../shared beside the project)`);
  process.exit(0);
}
const perClass = Number(arg('per-class', 10));
const methods = arg('methods', SANITY_DEFAULT_METHODS.join(',')).split(',');
const seed = Number(arg('seed', 0));

await initBackend('wasm');
const loaded = await loadModel(MOBILENET);
// val/ holds cat/ and dog/ folders (or the photos themselves, named cat.* and dog.*).
const photos = ['cat', 'dog'].flatMap((kind) => {
  const dir = existsSync(path.join(VAL, kind)) ? path.join(VAL, kind) : VAL;
  return readdirSync(dir).filter((f) => f.startsWith(`${kind}.`)).sort().slice(0, perClass).map((f) => path.join(dir, f));
});
const inputs = await Promise.all(photos.map((p) => loadModelInput(loaded, p)));
const tensors = inputs.map((i) => i.tensor);

const layerCount = (await import('../dist/attribution/cascade.js')).weightedLayers(loaded).length;
const half = Math.ceil(layerCount / 2);
const at = arg('at', undefined)?.split(',').map(Number) ?? [...new Set([0, 1, 2, 4, 7, 14, 21, half - 1, half, 35, 42, 49, layerCount])].filter((k) => k <= layerCount).sort((a, b) => a - b);

const cpu0 = process.cpuUsage();
const t0 = Date.now();
const run = await sanityCheck(loaded, tensors, {
  methods,
  at,
  seed,
  onStep: (k, done, total) => console.error(`step ${k} (${done}/${total}) after ${((Date.now() - t0) / 1000).toFixed(0)} s`),
});
const cpu = process.cpuUsage(cpu0);
tensors.forEach((t) => t.dispose());

const rows = run.steps.map((k, s) => {
  const top = run.layers.slice(0, k);
  const convs = top.filter((l) => l.className !== 'BatchNormalization').length;
  const medians = run.methods.map((_, j) => median(run.images.map((im) => im.correlations[j][s])));
  const constant = run.methods.map((_, j) => run.images.filter((im) => !Number.isFinite(im.correlations[j][s])).length);
  // A flat map (a ReLU'd CAM that is 0 everywhere) has no ranking: left out of the median above, counted as 0 here.
  const flatAsZero = run.methods.map((_, j) => median(run.images.map((im) => (Number.isFinite(im.correlations[j][s]) ? im.correlations[j][s] : 0))));
  return { step: k, randomized: k ? top[k - 1].name : 'none (trained)', convolutions: convs, batchNorms: k - convs, medians, constant, flatAsZero };
});
const halfRow = rows.find((r) => r.step === half);
const verdict = run.methods.map((m, j) => ({ method: m, atHalf: halfRow?.medians[j], flatAsZero: halfRow?.flatAsZero[j], below: halfRow ? halfRow.medians[j] < 0.3 : undefined }));

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ model: MOBILENET, photos: photos.map((p) => path.basename(p)), layers: layerCount, half, seed, methods: run.methods, rows, verdict, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, null, 2));
} else {
  const fmt = (v) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
  console.log(`MobileNet v1 0.25 224, ${photos.length} val photos, ${layerCount} layers with weights (half: step ${half}), seed ${seed}`);
  console.log(`| step | top layer randomized | convs + BNs randomized | ${run.methods.join(' | ')} |`);
  console.log(`| ---: | --- | --- | ${run.methods.map(() => '---:').join(' | ')} |`);
  for (const r of rows) {
    const cells = r.medians.map((v, j) => `${fmt(v)}${r.constant[j] ? ` (${r.constant[j]} constant)` : ''}`);
    console.log(`| ${r.step}${r.step === half ? ' (half)' : ''} | ${r.randomized} | ${r.convolutions} + ${r.batchNorms} | ${cells.join(' | ')} |`);
  }
  for (const v of verdict) console.log(`${v.method}: median ${fmt(v.atHalf)}${v.flatAsZero !== v.atHalf ? ` (${fmt(v.flatAsZero)} counting flat maps as 0)` : ''} at step ${half}/${layerCount}${['gradcam', 'vanilla', 'smoothgrad'].includes(v.method) ? (v.below ? ' < 0.3: holds' : ' >= 0.3: FAILS') : ' (reported; the paper expects it to stay high)'}`);
  console.log(`cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, wall ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
