#!/usr/bin/env node
// `npm run zoo [-- NAME ...] [--out DIR]`: build the fixture zoo of issue 18 (darknet-tiny, vgg,
// resnet, inception-v3; src/zoo/fixtures.ts) with fixed seeds and save each as a TF.js layers
// model (model.json + weights.bin + cnnviz.json) in .zoo/NAME/ (git-ignored). A fixture already
// there is kept unless --force. Needs the build (`npm run build`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(ROOT, '.zoo');
const force = args.includes('--force');
const names = args.filter((a, i) => !a.startsWith('--') && i !== outAt + 1);

if (!existsSync(path.join(ROOT, 'dist/zoo/fixtures.js'))) {
  console.error('zoo: dist/ is missing; run npm run build first');
  process.exit(1);
}
const { ZOO_NAMES, ZOO_BUILDERS } = await import(path.join(ROOT, 'dist/zoo/fixtures.js'));
const { saveModel } = await import(path.join(ROOT, 'dist/model/save.js'));
const { initBackend } = await import(path.join(ROOT, 'dist/backend/select.js'));
const tf = await import('@tensorflow/tfjs');

for (const name of names) {
  if (!ZOO_NAMES.includes(name)) {
    console.error(`zoo: unknown fixture '${name}': choose from ${ZOO_NAMES.join(', ')}`);
    process.exit(2);
  }
}
await initBackend('cpu');
for (const name of names.length ? names : ZOO_NAMES) {
  const dir = path.join(out, name);
  if (!force && existsSync(path.join(dir, 'model.json'))) {
    console.error(`zoo: ${path.relative(process.cwd(), dir)} exists (--force rebuilds)`);
    continue;
  }
  const t0 = Date.now();
  const { model, sidecar } = ZOO_BUILDERS[name]();
  await saveModel(model, dir, sidecar);
  const params = model.countParams();
  model.dispose();
  console.error(`zoo: ${name}: ${model.layers.length} layers, ${(params / 1e6).toFixed(2)} M parameters -> ${path.relative(process.cwd(), path.join(dir, 'model.json'))} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
console.error(`zoo: tf memory ${tf.memory().numTensors} tensors`);
