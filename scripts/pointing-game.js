#!/usr/bin/env node
// `npm run pointing-game [-- --count 200 --seed 0 --val <dir> --json [--scenes]]`: the pointing game of
// issue 20. Builds `count` seeded scenes (src/attribution/pointing-game.ts: a val photo of a
// cat or dog, 224 px, pasted at a random place on a 672-px background that is a blurred photo
// of the other class or a texture), runs `cnnviz cam --json` on them with the bundled model
// and with the shared MobileNet, at both input scales (fit: the scene resized to the model's
// 224 px, so the animal is ~75 px; native: the scene at its own size), and counts the scenes
// whose Grad-CAM peak falls inside the pasted photo. Baselines: a uniformly random peak (the
// photo's share of the scene), a random cell of the map's own grid, and the scene's centre.
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

/** `cnnviz cam --json` over every scene (one process), with extra arguments; one result per scene, in order. */
function cam(extra) {
  const out = path.join(dir, 'maps/');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'cam', ...files, '--json', '-o', out, ...extra], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`cnnviz cam ${extra.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  rmSync(out, { recursive: true, force: true });
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
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

/**
 * MobileNet knows no "cat" or "dog", only breeds: the pasted animal's class is taken as its
 * highest-scoring ImageNet breed (cats 281-285, dogs 151-268), the ground truth as far as a
 * cats/dogs photo gives one. Scores from the scene at the same input scale; then one
 * `cam --class` run per chosen class.
 */
const BREEDS = { cat: [281, 285], dog: [151, 268] };
async function breedRuns(scale) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import(path.join(ROOT, 'dist/backend/select.js'));
  const { loadModel } = await import(path.join(ROOT, 'dist/model/load.js'));
  const { loadModelInput } = await import(path.join(ROOT, 'dist/model/probe.js'));
  const { scorePass } = await import(path.join(ROOT, 'dist/attribution/forward.js'));
  await initBackend('wasm');
  const loaded = await loadModel(MOBILENET);
  const scores = scorePass(loaded);
  const chosen = [];
  for (const [i, file] of files.entries()) {
    const { tensor } = await loadModelInput(loaded, file, { native: scale === 'native' });
    const s = tf.tidy(() => scores(tensor).dataSync());
    tensor.dispose();
    const [lo, hi] = BREEDS[plans[i].animal];
    let best = lo;
    for (let c = lo; c <= hi; c++) if (s[c] > s[best]) best = c;
    chosen.push(best);
  }
  const results = new Array(files.length);
  for (const cls of new Set(chosen)) {
    const mine = files.flatMap((f, i) => (chosen[i] === cls ? [i] : []));
    const saved = files.splice(0, files.length, ...mine.map((i) => saved0[i]));
    cam(['--class', String(cls), '--input-scale', scale, '-m', MOBILENET]).forEach((r, j) => (results[mine[j]] = r));
    files.splice(0, files.length, ...saved);
  }
  return results;
}
const saved0 = [...files];

const MODELS = [
  { name: 'bundled (models/catsdogs), predicted class', args: [], expected: true },
  { name: 'bundled (models/catsdogs), the true class', args: [], trueClass: true },
  { name: 'MobileNet v1 0.25 (ImageNet), predicted class', args: ['-m', MOBILENET] },
  { name: "MobileNet v1 0.25 (ImageNet), the animal's top breed", breeds: true },
];
const rows = [];
for (const scale of ['fit', 'native']) {
  for (const model of MODELS) {
    let results;
    if (model.trueClass) {
      // One run per class: --class applies to every image of a run.
      const byAnimal = {};
      for (const animal of ['cat', 'dog']) {
        const mine = files.filter((_, i) => plans[i].animal === animal);
        const saved = files.splice(0, files.length, ...mine);
        byAnimal[animal] = cam(['--class', animal, '--input-scale', scale, ...model.args]);
        files.splice(0, files.length, ...saved);
      }
      const next = { cat: 0, dog: 0 };
      results = plans.map((p) => byAnimal[p.animal][next[p.animal]++]);
    } else if (model.breeds) results = await breedRuns(scale);
    else results = cam(['--input-scale', scale, ...model.args]);
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
