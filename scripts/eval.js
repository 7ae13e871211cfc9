#!/usr/bin/env node
// `npm run eval [-- <val-dir> [--model <path>]]`: run `cnnviz predict` over a validation folder
// (one subfolder per class) and check that it reproduces the val accuracy cnnviz.json records.
// Defaults: the bundled model and ../shared/data/cats-dogs/val. Exit 0 when the two agree.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

const args = process.argv.slice(2);
const modelAt = args.indexOf('--model');
const model = modelAt >= 0 ? args.splice(modelAt, 2)[1] : path.join(ROOT, 'models/catsdogs');
const valDir = path.resolve(args[0] ?? path.join(ROOT, '../shared/data/cats-dogs/val'));
if (!existsSync(valDir)) {
  console.error(`eval: validation folder not found: ${valDir} (give one: npm run eval -- path/to/val)`);
  process.exit(2);
}

/**
 * One object per file, JSON Lines: {image, predictions} or {image, error}. Exit 1 means some
 * files could not be read (each said why on stderr); they count as wrong, they don't end the eval.
 */
function predict(files) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'predict', '--json', '--top', '1', '--model', model, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0 && code !== 1) return reject(new Error(`cnnviz predict exited with ${code}`));
      resolve(out.split('\n').filter(Boolean).map((line) => JSON.parse(line)));
    });
  });
}

const classes = readdirSync(valDir).filter((d) => statSync(path.join(valDir, d)).isDirectory()).sort();
let right = 0;
let total = 0;
const t0 = Date.now();
for (const cls of classes) {
  const files = readdirSync(path.join(valDir, cls)).filter((f) => IMAGE.test(f)).sort().map((f) => path.join(valDir, cls, f));
  const results = await predict(files);
  const ok = results.filter((r) => r.predictions?.[0].label === cls).length;
  const unreadable = results.filter((r) => r.error).length;
  console.log(`${cls}: ${ok}/${files.length} = ${((100 * ok) / files.length).toFixed(1)}%${unreadable ? ` (${unreadable} unreadable, counted wrong)` : ''}`);
  right += ok;
  total += files.length;
}
const accuracy = right / total;
console.log(`all: ${right}/${total} = ${(100 * accuracy).toFixed(1)}% in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const sidecar = path.join(existsSync(path.join(model, 'cnnviz.json')) ? model : path.dirname(model), 'cnnviz.json');
const recorded = existsSync(sidecar) ? JSON.parse(readFileSync(sidecar, 'utf8')).valAccuracy : undefined;
if (typeof recorded !== 'number') {
  console.log(`(no valAccuracy recorded in ${sidecar} to compare with)`);
} else {
  // One validation photo is 0.2% of 500: allow one borderline image to flip between batchings.
  const agree = Math.abs(recorded - accuracy) <= 1 / total + 1e-9;
  console.log(`cnnviz.json records ${(100 * recorded).toFixed(1)}%: ${agree ? 'reproduced' : 'NOT reproduced'}`);
  process.exitCode = agree ? 0 : 1;
}
