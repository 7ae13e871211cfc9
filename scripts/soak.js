#!/usr/bin/env node
// `npm run soak [-- --runs 10 --steps 1000 --size 64 --layer 1 --model DIR]`: dream for 10,000 steps in all
// (runs × steps, each run a fresh dream with its own seed and filter, as `cnnviz dream` does it)
// with the real dream code on the bundled model, and check that nothing accumulates: from step
// 1,000 on the tensor count must not move at all and the resident memory must stay within 10%
// of its value at step 1,000. Prints the samples; exits 1 when either bound is broken. Not part
// of `npm test`: it takes a minute or more. Needs the build (`npm run build`). Memory is read
// after a full garbage collection (node --expose-gc, as `npm run soak` runs it): garbage not yet
// collected is a sawtooth of ±15%, not a leak; what survives a collection is.
// --layer takes an index or a name; --model a model folder (default: the bundled model), e.g. a
// fixture of the zoo: `npm run soak -- --model .zoo/inception-v3 --layer mixed4 --runs 1 --steps 1000`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const runs = flag('runs', 10);
const steps = flag('steps', 1000);
const size = flag('size', 64);
const text = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const layerArg = text('layer', '1');
const modelArg = text('model', undefined);
const every = flag('every', 100);
const from = flag('from', 1000);
const rssTolerance = 0.1;

const tf = await import('@tensorflow/tfjs');
const { initBackend } = await dist('backend/select.js');
const { loadModel } = await dist('model/load.js');
const { DEFAULTS } = await dist('dream/render.js');
const { dreamUnits } = await dist('dream/schedule.js');

if (!globalThis.gc) process.stderr.write('soak: run with node --expose-gc (npm run soak does): without it the RSS includes uncollected garbage\n');
const backend = await initBackend(process.env.CNNVIZ_BACKEND);
const loaded = await loadModel(modelArg);
const layer = /^\d+$/.test(layerArg) ? Number(layerArg) : loaded.graph.layers.findIndex((l) => l.name === layerArg);
if (!loaded.graph.layers[layer]) {
  process.stderr.write(`soak: no layer '${layerArg}' in ${loaded.source}: give an index 0-${loaded.graph.layers.length - 1} or a name\n`);
  process.exit(2);
}
const units = loaded.graph.layers[layer].outputShape.at(-1);
process.stderr.write(`soak: ${runs} dreams × ${steps} steps on ${path.relative(ROOT, loaded.source)} layer ${layer} (${loaded.graph.layers[layer].name}), size ${size}, backend ${backend}\n`);

/** [global step, tensors, rss MB] every `every` steps. */
const samples = [];
const t0 = Date.now();
for (let r = 0; r < runs; r++) {
  const settings = { ...DEFAULTS, steps, size, seed: 1000 + r };
  await dreamUnits(loaded, { objective: { expression: `channel(${layer}, unit)` }, units: [r % units], settings }, { batchSize: 1, workers: 1 }, (p) => {
    const step = r * steps + p.done;
    if (step % every !== 0) return;
    globalThis.gc?.();
    const sample = { step, tensors: tf.memory().numTensors, rssMB: process.memoryUsage().rss / 2 ** 20, heapMB: (tf.backend().wasm?.HEAPU8.length ?? 0) / 2 ** 20 };
    samples.push(sample);
    process.stdout.write(`step ${String(step).padStart(6)}  tensors ${sample.tensors}  rss ${sample.rssMB.toFixed(1)} MB  wasm heap ${sample.heapMB.toFixed(0)} MB  (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  });
}

const tail = samples.filter((s) => s.step >= from);
if (!tail.length) {
  process.stderr.write(`soak: no samples from step ${from} on (${runs * steps} steps in all): run more steps\n`);
  process.exit(2);
}
const ref = tail[0];
const tensors = tail.map((s) => s.tensors);
const rss = tail.map((s) => s.rssMB);
const rssLo = Math.min(...rss);
const rssHi = Math.max(...rss);
const flat = tensors.every((n) => n === ref.tensors);
// The wasm heap only grows (it is never given back): from step `from` on it must not.
const heapFlat = tail.every((s) => s.heapMB === ref.heapMB);
const within = rssHi <= ref.rssMB * (1 + rssTolerance) && rssLo >= ref.rssMB * (1 - rssTolerance);
process.stdout.write(
  `\nsoak: ${runs * steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s\n` +
    `  tensors from step ${ref.step}: ${Math.min(...tensors)}-${Math.max(...tensors)} (at step ${ref.step}: ${ref.tensors}) ${flat ? 'flat: ok' : 'NOT FLAT'}\n` +
    `  wasm heap from step ${ref.step}: ${Math.max(...tail.map((s) => s.heapMB)).toFixed(0)} MB (at step ${ref.step}: ${ref.heapMB.toFixed(0)} MB) ${heapFlat ? 'flat: ok' : 'GREW'}\n` +
    `  rss from step ${ref.step}: ${rssLo.toFixed(1)}-${rssHi.toFixed(1)} MB (at step ${ref.step}: ${ref.rssMB.toFixed(1)} MB, ${((rssHi / ref.rssMB - 1) * 100).toFixed(1)}% above, ${((1 - rssLo / ref.rssMB) * 100).toFixed(1)}% below) ${within ? `within ${rssTolerance * 100}%: ok` : `OUTSIDE ${rssTolerance * 100}%`}\n`,
);
process.exit(flat && heapFlat && within ? 0 : 1);
