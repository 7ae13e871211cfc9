// `npm run faithfulness`: issue 20's faithfulness measurement. Every CAM method and the three
// baselines on a seeded sample of 200 val photos of ../shared/data/cats-dogs with the shared
// MobileNet, through the whole `cam --evaluate` command; prints the table docs/cam.md shows and
// whether acceptance point 4 holds (Grad-CAM's insertion above the random and Sobel baselines,
// its deletion below them). Extra arguments go to the command: `npm run faithfulness -- --method gradcam`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');

if (!existsSync(MOBILENET) || !existsSync(VAL)) {
  console.log(`faithfulness: skipped, ${MOBILENET} or ${VAL} is absent (../shared is not beside the project)`);
  process.exit(0);
}
const extra = process.argv.slice(2);
const args = ['cam', '--evaluate', VAL, '-m', MOBILENET, '--sample', '200', '--seed', '0', '--json', '--backend', 'wasm', ...(extra.some((a) => a === '--method' || a === '-M') ? [] : ['--method', 'all']), ...extra];
console.log(`$ cnnviz ${args.map((a) => (a.startsWith(ROOT) || a.startsWith(path.dirname(ROOT)) ? path.relative(ROOT, a) : a)).join(' ')}`);
console.log(`load average before: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, stdio: ['ignore', 'pipe', 'inherit'] });
const wall = (Date.now() - t0) / 1000;
if (!r.stdout) {
  console.log(`faithfulness: the command failed (exit ${r.status})`);
  process.exit(1);
}
const out = JSON.parse(r.stdout);
const cats = out.images.filter((i) => /(^|\/)cat[./]/.test(path.relative(VAL, i.image))).length;
console.log(`\n${out.photos} photos (${cats} cats, ${out.photos - cats} dogs; seeded sample, --seed ${out.settings.seed}), layer ${out.layer}; ${out.failed.length} failed`);
console.log(`score: ${out.score}; mean ± standard error over the photos`);
console.log(`wall ${wall.toFixed(1)} s, CPU ${out.cpuSeconds.toFixed(1)} s (whole process, workers included), load average after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}\n`);
const metrics = [['deletion', 'deletion ↓'], ['insertion', 'insertion ↑'], ['roadMorf', 'ROAD MoRF ↓'], ['roadLerf', 'ROAD LeRF ↑']];
console.log(`| map | ${metrics.map((m) => m[1]).join(' | ')} |`);
console.log(`| --- | ${metrics.map(() => '---:').join(' | ')} |`);
for (const m of out.summary) console.log(`| ${m.name} | ${metrics.map(([k]) => `${m.metrics[k].mean.toFixed(3)} ± ${m.metrics[k].sem.toFixed(3)}`).join(' | ')} |`);
const by = Object.fromEntries(out.summary.map((m) => [m.name, m.metrics]));
if (by.gradcam) {
  const ok = ['random', 'sobel'].every((b) => by.gradcam.insertion.mean > by[b].insertion.mean && by.gradcam.deletion.mean < by[b].deletion.mean);
  console.log(`\nacceptance 4 (Grad-CAM insertion above random and Sobel, deletion below them): ${ok ? 'met' : 'NOT met'}`);
}
process.exit(r.status ?? 1);
