// Issue 16's acceptance 3 (`npm run diversity-check`): for 8 filters of MobileNet's
// conv_pw_11_relu, the 4 pictures of `--diversity 4` against 4 pictures of the same filter from 4
// seeds without diversity. Both sets are rendered through the library as `cnnviz dream` renders
// them (native scale, 512 steps), then fed to the network at their own 128 px and compared:
//   Gram cosine  mean pairwise cosine of the pictures' Gram matrices at the layer (lower: more different)
//   kept         each diversity picture's channel mean / the mean of the no-diversity pictures'
// Target: the mean Gram cosine at least 25% lower with diversity, and every picture keeps >= 70%.
//
//   node scripts/diversity-check.js [--weight 7] [--keep 0.8] [--steps 512] [--filters 0-7] [--layer conv_pw_11_relu] [--diversity-layer L]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, loadModel, resolveLayer, DREAM_DEFAULTS, DIVERSITY_DEFAULTS, dreamUnits } from '../dist/index.js';
import { createProbe } from '../dist/dream/probe.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
if (!existsSync(MOBILENET)) {
  console.error(`diversity-check: skipped, ${MOBILENET} is absent (it needs ../shared beside the project)`);
  process.exit(0);
}
const weight = Number(arg('weight', DIVERSITY_DEFAULTS.weight));
const keep = Number(arg('keep', DIVERSITY_DEFAULTS.keep));
const steps = Number(arg('steps', 512));
const [lo, hi] = arg('filters', '0-7').split('-').map(Number);
const filters = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const COPIES = 4;

await initBackend('wasm');
const model = await loadModel(MOBILENET);
const layer = resolveLayer(arg('layer', 'conv_pw_11_relu'), model.graph.layers);
const diversityLayer = resolveLayer(arg('diversity-layer', String(layer)), model.graph.layers);
const settings = (seed) => ({ ...DREAM_DEFAULTS, steps, seed });
const run = (spec) => dreamUnits(model, { units: filters, ...spec }, { batchSize: 8 });

const t0 = Date.now();
const diverse = await run({ objective: { expression: `channel(${layer}, unit) - ${weight} * diversity(${diversityLayer}${keep ? `, keep=${keep}` : ''})` }, copies: COPIES, settings: settings(7) });
const plain = [];
for (let s = 0; s < COPIES; s++) plain.push(await run({ objective: { expression: `channel(${layer}, unit)` }, settings: settings(7 + s) }));
console.error(`rendered in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const probe = createProbe(model, [{ layer }]);
const [lo255, hi255] = model.meta.inputRange;
/** Gram row (normalized) and channel mean of filter f for one picture at its own size. */
function measure(raster, f) {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(raster.data), [1, raster.height, raster.width, raster.channels]).div(255).mul(hi255 - lo255).add(lo255);
    const out = probe.apply(x)[0];
    const c = out.shape[3];
    const flat = out.reshape([-1, c]);
    const gram = tf.matMul(flat, flat, true, false).reshape([-1]);
    return { gram: gram.div(gram.norm()).dataSync(), value: out.mean([0, 1, 2]).dataSync()[f] };
  });
}
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
const meanCosine = (grams) => {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < grams.length; i++) for (let j = i + 1; j < grams.length; j++) (sum += dot(grams[i], grams[j])), n++;
  return sum / n;
};

const rows = [];
for (const [k, f] of filters.entries()) {
  const d = Array.from({ length: COPIES }, (_, c) => measure(diverse.images[k * COPIES + c], f));
  const p = plain.map((r) => measure(r.images[k], f));
  const plainMean = p.reduce((a, m) => a + m.value, 0) / COPIES;
  rows.push({ filter: f, plainMean, cosDiverse: meanCosine(d.map((m) => m.gram)), cosPlain: meanCosine(p.map((m) => m.gram)), kept: d.map((m) => m.value / plainMean) });
}
console.log('| filter | channel mean, 4 seeds | Gram cosine, 4 seeds | Gram cosine, --diversity 4 | drop | kept (each picture) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.filter} | ${r.plainMean.toFixed(2)} | ${r.cosPlain.toFixed(3)} | ${r.cosDiverse.toFixed(3)} | ${(100 * (1 - r.cosDiverse / r.cosPlain)).toFixed(0)}% | ${r.kept.map((v) => `${(100 * v).toFixed(0)}%`).join(', ')} |`);
const mean = (xs) => xs.reduce((a, v) => a + v, 0) / xs.length;
const plainCos = mean(rows.map((r) => r.cosPlain));
const diverseCos = mean(rows.map((r) => r.cosDiverse));
const drop = 1 - diverseCos / plainCos;
const worst = Math.min(...rows.flatMap((r) => r.kept));
console.log(`\nweight ${weight}, keep ${keep}: mean Gram cosine ${plainCos.toFixed(3)} -> ${diverseCos.toFixed(3)} (${(100 * drop).toFixed(0)}% lower; target >= 25%), worst picture keeps ${(100 * worst).toFixed(0)}% (target >= 70%): ${drop >= 0.25 && worst >= 0.7 ? 'MET' : 'MISSED'}`);
