// `cnnviz report` on the shared MobileNet over the 500 cats-dogs val photos (issue 21). The
// issue's report: layers conv_pw_7_relu, conv_pw_11_relu, conv_pw_13_relu (128 + 128 + 256 =
// 512 units), 256-step dreams (the dream, the negative dream and a diversity row of 3 per unit),
// an index of the 500 photos; target ≤ 45 min on 2 cores.
//
//   node bench/report.js [--units N]      reduced: the first N units (default 8) of each of the three layers
//   CNNVIZ_BENCH_REPORT=full npm run bench   the whole report
//
// The report runs in this process, so process.cpuUsage counts its worker threads too. Printed
// per phase: wall-clock and CPU seconds (the index, the dreams by kind and layer, the examples
// and unit pages, the model/layer/image pages). The reduced run is extrapolated to 512 units
// phase by phase: the index and the shared pages as measured (they do not depend on the units),
// each layer's dreams x (its units / N), the examples x 512 / 3N. On a shared machine the wall
// clock says little; CPU seconds say what the work costs, and "quiet 2 cores" is the CPU of the
// two-worker phases (index, dreams) halved plus the rest as is: what a quiet 2-core machine
// would take if its two workers were never idle. Then a re-run with nothing changed, as a
// whole `cnnviz report` process (target ≤ 10 s).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/cnnviz.js');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');
const LAYERS = ['conv_pw_7_relu', 'conv_pw_11_relu', 'conv_pw_13_relu'];
const TARGET = 45 * 60;

const fmt = (s) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);
const time = (t) => `${fmt(t.wall)} | ${fmt(t.cpu)}`;
const add = (a, b) => ({ wall: a.wall + b.wall, cpu: a.cpu + b.cpu });
const times = (t, k) => ({ wall: t.wall * k, cpu: t.cpu * k });
const ZERO = { wall: 0, cpu: 0 };

function option(args, name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}

/** The whole `cnnviz report` process, wall-clock seconds. */
function runCli(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').pop());
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export default async function benchReport({ full = process.env.CNNVIZ_BENCH_REPORT === 'full', units = Number(option(process.argv, 'units', 8)) } = {}) {
  console.log(`\n## report: MobileNet, 3 layers, 256-step dreams, 500 photos (load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}: a busy machine is slower)`);
  if (!existsSync(MOBILENET) || !existsSync(VAL)) {
    console.log(`skipped: ${MOBILENET} or ${VAL} is absent (../shared is not beside the project)`);
    return;
  }
  const { initBackend } = await import('../dist/backend/select.js');
  const { loadModel } = await import('../dist/model/load.js');
  const { buildReport } = await import('../dist/report/build.js');
  await initBackend('wasm');
  const loaded = await loadModel(MOBILENET);
  const channels = Object.fromEntries(LAYERS.map((name) => [name, loaded.graph.layers.find((l) => l.name === name).outputShape.at(-1)]));
  const all = Object.values(channels).reduce((a, b) => a + b, 0);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-report-'));
  try {
    const site = path.join(dir, 'site');
    const opts = { images: [VAL], layers: LAYERS.join(','), units: full ? 'all' : `0-${units - 1}`, steps: 256, seed: 0, modelArg: MOBILENET, imagePages: 3, examples: 9 };
    const r = await buildReport(loaded, site, opts);
    const perUnit = full ? 1 : units;
    console.log(full ? `whole report: ${r.units} units` : `reduced: units 0-${units - 1} of each layer (${r.units} units), extrapolated to ${all} (each layer's dreams x its units / ${units})`);
    console.log('| phase | wall | CPU | extrapolated wall | extrapolated CPU |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    const scaleOf = (layer) => (full ? 1 : channels[layer] / perUnit);
    let totalWall = ZERO;
    let parallelCpu = 0;
    let serialCpu = 0;
    const row = (name, measured, estimate, parallel) => {
      console.log(`| ${name} | ${time(measured)} | ${time(estimate)} |`);
      totalWall = add(totalWall, estimate);
      if (parallel) parallelCpu += estimate.cpu;
      else serialCpu += estimate.cpu;
    };
    row('index (500 photos, 3 layers)', r.phases.index, r.phases.index, true);
    for (const kind of ['dream', 'neg', 'div']) {
      for (const layer of LAYERS) {
        const runs = r.dreamRuns.filter((d) => d.kind === kind && d.layer === layer);
        const measured = runs.reduce(add, ZERO);
        row(`dreams: ${kind}, ${layer}`, measured, times(measured, scaleOf(layer)), true);
      }
    }
    row('examples and unit pages', r.phases.examples, times(r.phases.examples, full ? 1 : all / r.units), false);
    row('model, layer and image pages (with Grad-CAM)', r.phases.pages, r.phases.pages, false);
    const quiet = parallelCpu / 2 + serialCpu;
    console.log(`| **total** | | | **${fmt(totalWall.wall)}** | **${fmt(totalWall.cpu)}** |`);
    console.log(`\nquiet 2 cores (index and dreams CPU / 2, the rest as is): ${fmt(quiet)}; target ≤ 45 min: ${quiet <= TARGET ? 'PASS' : 'MISSED'}${full ? '' : ' (estimate)'}`);
    // With fewer than 2 groups of 8 a layer, a dream run is one batch and keeps one worker busy: the full run's have 4.
    const oneBatch = !full && units <= 8 ? ' (overstated: the reduced dream runs are one batch each, for one worker)' : '';
    console.log(`this machine, wall: ${fmt(totalWall.wall)}${full ? '' : ' (extrapolated)'}${oneBatch}; target ≤ 45 min: ${totalWall.wall <= TARGET ? 'PASS' : 'MISSED'}`);
    // The heaviest unit page with its pictures (the dreams at 256 steps, 9 + 9 crops).
    let heaviest = 0;
    for (const layer of LAYERS) {
      const layerDir = path.join(site, 'layers', layer);
      for (let u = 0; u < (full ? channels[layer] : units); u++) {
        const html = readFileSync(path.join(layerDir, `${u}.html`), 'utf8');
        heaviest = Math.max(heaviest, [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].reduce((a, m) => a + readFileSync(path.join(layerDir, m[1])).length, Buffer.byteLength(html)));
      }
    }
    console.log(`heaviest unit page with its pictures: ${(heaviest / 1024).toFixed(0)} KB; ≤ 300 KB: ${heaviest <= 300 * 1024 ? 'PASS' : 'MISSED'}`);
    const again = runCli(['report', '-m', MOBILENET, '--images', VAL, '--layers', LAYERS.join(','), '--units', opts.units, '--steps', '256', '-o', site]);
    console.log(`the same report re-run with nothing changed (a whole process): ${fmt(again)}; ≤ 10 s: ${again <= 10 ? 'PASS' : 'MISSED'}`);
  } catch (err) {
    console.log(`report: failed: ${String(err.message ?? err).slice(0, 200)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReport();
