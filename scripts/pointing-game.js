#!/usr/bin/env node
// `npm run pointing-game [-- --count 200 --seed 0 --val <dir> --json [--scenes]]`: the pointing game of
// issue 20. Builds `count` seeded scenes (src/attribution/pointing-game.ts: a val photo of a
// cat or dog, 224 px, pasted at a random place on a 672-px background that is a blurred photo
// of the other class or a texture), runs `cnnviz cam --json` on them with the bundled model
// and with the shared MobileNet, at both input scales (fit: the scene resized to the model's
// 224 px, so the animal is ~75 px; native: the scene at its own size), and counts the scenes
// whose Grad-CAM peak falls inside the pasted photo. Baselines: a uniformly random peak (the
// photo's share of the scene), a random cell of the map's own grid, and the scene's centre.
// The class explained, per model: the scene's predicted class (cam's default); the class the
// model predicts for the pasted photo on its own; the photo's true class (bundled) or the
// animal's top ImageNet breed (MobileNet).
// A measurement, not a test: it needs ../shared and dist/ (npm run build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { planScenes, renderScene, insideBox } = await import(path.join(ROOT, 'dist/attribution/pointing-game.js'));
const { encodePng } = await import(path.join(ROOT, 'dist/image/io.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const count = Number(flag('--count', 200));
const seed = Number(flag('--seed', 0));
const json = args.includes('--json');
const VAL = path.resolve(flag('--val', path.join(ROOT, '../shared/data/cats-dogs/val')));
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
if (!existsSync(VAL) || !existsSync(MOBILENET)) {
  console.error(`pointing-game: needs ${VAL} (give --val) and ${MOBILENET}`);
  process.exit(2);
}
if (!Number.isInteger(count) || count < 1) {
  console.error(`pointing-game: --count ${flag('--count')}: give a whole number of at least 1`);
  process.exit(2);
}

const photos = Object.fromEntries(['cat', 'dog'].map((c) => [c, readdirSync(path.join(VAL, c)).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => path.join(VAL, c, f))]));
const plans = planScenes(photos, count, seed);
const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-pointing-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
// PNG: the pasted photo exactly as built, no second compression.
const files = [];
for (const [i, plan] of plans.entries()) {
  const file = path.join(dir, `scene-${String(i).padStart(3, '0')}-${plan.animal}.png`);
  writeFileSync(file, await encodePng(await renderScene(plan), 1));
  files.push(file);
}

/** `cnnviz cam --json` over the scenes `which` (indices; one process), with extra arguments; one result per scene, in order. */
function cam(extra, which = files.map((_, i) => i)) {
  const out = path.join(dir, 'maps/');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'cam', ...which.map((i) => files[i]), '--json', '-o', out, ...extra], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`cnnviz cam ${extra.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  rmSync(out, { recursive: true, force: true });
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

/** `cam` with a class chosen per scene (`chosen[i]`): one `cam --class` run per distinct class, results back in scene order. */
function camPerClass(chosen, extra) {
  const results = new Array(files.length);
  for (const cls of new Set(chosen)) {
    const mine = chosen.flatMap((c, i) => (c === cls ? [i] : []));
    cam(['--class', String(cls), ...extra], mine).forEach((r, j) => (results[mine[j]] = r));
  }
  return results;
}

/** The share of scenes whose peak (the map cell's centre, in scene pixels) is inside the photo; and of correct predictions where the class is known. */
function score(results, expected) {
  let hits = 0;
  let correct = 0;
  const byBackground = { 'blurred-photo': [0, 0], texture: [0, 0] };
  const scenes = results.map((r, i) => {
    const { side, background } = plans[i];
    const m = r.maps[0];
    const hit = insideBox(plans[i], m.peak.fx * side, m.peak.fy * side);
    if (hit) hits++;
    byBackground[background.kind][0] += hit ? 1 : 0;
    byBackground[background.kind][1]++;
    if (expected && m.label === plans[i].animal) correct++;
    return { scene: i, animal: plans[i].animal, background: background.kind, label: m.label, hit };
  });
  return { hits, rate: hits / results.length, byBackground, scenes, ...(expected ? { predictedRight: correct / results.length } : {}) };
}

/** Baselines: a uniformly random peak (= the photo's area share), a random cell of a g x g grid (10,000 draws per scene), the centre. */
function baselines(grid) {
  const rng = (() => {
    let s = (seed ^ 0x5bd1e995) >>> 0 || 1;
    return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  })();
  let cell = 0;
  let centre = 0;
  let area = 0;
  const draws = 10000;
  for (const plan of plans) {
    area += (plan.box.size * plan.box.size) / (plan.side * plan.side);
    if (insideBox(plan, plan.side / 2, plan.side / 2)) centre++;
    let inside = 0;
    for (let d = 0; d < draws; d++) {
      const gx = Math.floor(rng() * grid);
      const gy = Math.floor(rng() * grid);
      if (insideBox(plan, ((gx + 0.5) / grid) * plan.side, ((gy + 0.5) / grid) * plan.side)) inside++;
    }
    cell += inside / draws;
  }
  return { area: area / plans.length, cell: cell / plans.length, centre: centre / plans.length };
}

/** The class scores (pre-softmax, as cam explains them) of `sources` (files), one array each, from the model at `modelPath` (undefined: the bundled one). */
async function classScores(modelPath, sources, native) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import(path.join(ROOT, 'dist/backend/select.js'));
  const { loadModel, DEFAULT_MODEL } = await import(path.join(ROOT, 'dist/model/load.js'));
  const { loadModelInput } = await import(path.join(ROOT, 'dist/model/probe.js'));
  const { scorePass } = await import(path.join(ROOT, 'dist/attribution/forward.js'));
  await initBackend('wasm');
  const loaded = await loadModel(modelPath ?? DEFAULT_MODEL);
  const scores = scorePass(loaded);
  const out = [];
  for (const source of sources) {
    const { tensor } = await loadModelInput(loaded, source, { native });
    out.push(Array.from(tf.tidy(() => scores(tensor).dataSync())));
    tensor.dispose();
  }
  return out;
}
const argmax = (s, lo = 0, hi = s.length - 1) => {
  let best = lo;
  for (let c = lo; c <= hi; c++) if (s[c] > s[best]) best = c;
  return best;
};

/**
 * MobileNet knows no "cat" or "dog", only breeds: the pasted animal's class is taken as its
 * highest-scoring ImageNet breed (cats 281-285, dogs 151-268) in the scene, at the same input
 * scale, the ground truth as far as a cats/dogs photo gives one.
 */
const BREEDS = { cat: [281, 285], dog: [151, 268] };
async function breedClasses(scale) {
  const scores = await classScores(MOBILENET, files, scale === 'native');
  return scores.map((s, i) => argmax(s, ...BREEDS[plans[i].animal]));
}

/**
 * The other reading of "predicted class": the class the model predicts for the pasted photo
 * on its own (the val photo as `cnnviz predict` would classify it, at the model's input size),
 * explained on the scene. Unlike the scene's predicted class it does not depend on the
 * background; unlike the true class it needs no labels, so it applies to MobileNet as is.
 */
const photoClassCache = new Map();
async function photoClasses(modelPath) {
  if (!photoClassCache.has(modelPath)) photoClassCache.set(modelPath, (await classScores(modelPath, plans.map((p) => p.photo), false)).map((s) => argmax(s)));
  return photoClassCache.get(modelPath);
}

const MODELS = [
  { name: 'bundled (models/catsdogs), predicted class', args: [], expected: true },
  { name: "bundled (models/catsdogs), the photo's predicted class", args: [], photo: true },
  { name: 'bundled (models/catsdogs), the true class', args: [], trueClass: true },
  { name: 'MobileNet v1 0.25 (ImageNet), predicted class', args: ['-m', MOBILENET] },
  { name: "MobileNet v1 0.25 (ImageNet), the photo's predicted class", args: ['-m', MOBILENET], photo: true, modelPath: MOBILENET },
  { name: "MobileNet v1 0.25 (ImageNet), the animal's top breed", args: ['-m', MOBILENET], breeds: true },
];
const rows = [];
for (const scale of ['fit', 'native']) {
  for (const model of MODELS) {
    const extra = ['--input-scale', scale, ...model.args];
    let results;
    // --class applies to every image of a run, so a per-scene class means one run per class.
    if (model.trueClass) results = camPerClass(plans.map((p) => p.animal), extra);
    else if (model.breeds) results = camPerClass(await breedClasses(scale), extra);
    else if (model.photo) results = camPerClass(await photoClasses(model.modelPath), extra);
    else results = cam(extra);
    const s = score(results, model.expected);
    // The map's side from a peak: fx = (x + 0.5) / width.
    const { peak } = results[0].maps[0];
    const mapSide = Math.round((peak.x + 0.5) / peak.fx);
    rows.push({ model: model.name, inputScale: scale, mapSide, scenes: results.length, hits: s.hits, rate: s.rate, predictedRight: s.predictedRight, byBackground: s.byBackground, ...(args.includes('--scenes') ? { perScene: s.scenes } : {}) });
    if (!json) console.error(`${model.name}, --input-scale ${scale}: ${s.hits}/${results.length}`);
  }
}
const base = { fit: baselines(7), native: baselines(21) };
if (json) {
  writeFileSync(1, JSON.stringify({ count, seed, rows, baselines: base }) + '\n');
} else {
  console.log(`\n## Pointing game: ${count} scenes (seed ${seed}), Grad-CAM peak inside the pasted photo\n`);
  console.log('| model | input scale | map | peak inside the photo | on blurred photos | on textures | model right |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  const pct = ([hit, all]) => `${((100 * hit) / all).toFixed(1)}% (${hit}/${all})`;
  for (const r of rows) console.log(`| ${r.model} | ${r.inputScale} | ${r.mapSide}x${r.mapSide} | ${pct([r.hits, r.scenes])} | ${pct(r.byBackground['blurred-photo'])} | ${pct(r.byBackground.texture)} | ${r.predictedRight === undefined ? '' : `${(100 * r.predictedRight).toFixed(1)}%`} |`);
  console.log(`\nBaselines: a uniformly random peak ${(100 * base.fit.area).toFixed(1)}% (the photo's share of the scene); a random cell of a 7x7 map ${(100 * base.fit.cell).toFixed(1)}%, of a 21x21 map ${(100 * base.native.cell).toFixed(1)}%; always the centre ${(100 * base.fit.centre).toFixed(1)}%.`);
}
