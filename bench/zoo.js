// The fixture zoo (issue 18) against the PyTorch CPU reference of the same Lucid algorithm
// (../shared/tools/torch-reference), in one run: 16-filter dream sheets, 512 steps, 128 px, at
// fit scale (--render-scale fit; the reference with --resize224) and at native scale, whole
// command wall-clock, and their ratio. The reference handles plain chains only, so ResNet and
// Inception have cnnviz's own times. The fixtures are built into .zoo/ (npm run zoo) when absent.
// MobileNet's conv_pw_7_relu sheet is the dream section's (bench/dream.js).
//
// CNNVIZ_BENCH_ZOO_STEPS=32 (or `node bench/zoo.js --quick`) tries things quickly: both sides run
// that many steps, and the 512-step figures are scaled from them (marked so). The recorded
// figures use 512. CNNVIZ_BENCH_ZOO=darknet-tiny,vgg picks fixtures; CNNVIZ_BENCH_ZOO=activations runs
// only the InceptionV3 `activations --layer all` row.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared');
const ZOO = path.join(ROOT, '.zoo');
const TORCH_REFERENCE = path.join(SHARED, 'tools/torch-reference/lucid_torch.py');
const PYTHON = '/usr/bin/python3';
const QUICK = process.argv.includes('--quick');
const STEPS = Number(process.env.CNNVIZ_BENCH_ZOO_STEPS ?? (QUICK ? 32 : 512));
const ONLY = process.env.CNNVIZ_BENCH_ZOO?.split(',');

/** [fixture, layer, scale, input range for the reference, the reference can run it, target]. */
const CASES = [
  { fixture: 'darknet-tiny', layer: 'leaky_re_lu_9', scale: 'fit', range: '0,1', reference: true, target: (r) => (r <= 1.0 ? 'met (<= 1.0x)' : 'MISSED (<= 1.0x)') },
  { fixture: 'darknet-tiny', layer: 'leaky_re_lu_9', scale: 'native', range: '0,1', reference: true, target: (r) => (r <= 1.5 ? 'met (<= 1.5x)' : 'MISSED (<= 1.5x)') },
  { fixture: 'vgg', layer: 'block8_relu', scale: 'fit', range: '0,1', reference: true, target: () => 'no worse than darknet at fit' },
  { fixture: 'vgg', layer: 'block8_relu', scale: 'native', range: '0,1', reference: true, target: () => 'no worse than darknet at native' },
  { fixture: 'resnet', layer: 'conv4_block2_out', scale: 'native', reference: false, target: () => 'reported' },
  { fixture: 'inception-v3', layer: 'mixed4', scale: 'native', reference: false, targetS: 600 },
];

const firstError = (stderr) => (stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? stderr.trim().split('\n').pop() ?? 'failed').replace('cnnviz: ', '');

function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return { r, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function cnnvizDream(c) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-zoo-'));
  const args = [path.join(ROOT, 'bin/cnnviz.js'), 'dream', '-m', path.join(ZOO, c.fixture), '--layer', c.layer, '--filters', '0-15', '--steps', String(STEPS), '--seed', '7', '--render-scale', c.scale, '--backend', 'wasm', '--json', '-o', path.join(out, 'sheet.png')];
  const { r, s } = timed(process.execPath, args);
  rmSync(out, { recursive: true, force: true });
  return r.status === 0 ? { s, workers: JSON.parse(r.stdout).workers ?? 1 } : { error: firstError(r.stderr) };
}

function torchAvailable() {
  if (!existsSync(TORCH_REFERENCE)) return `${TORCH_REFERENCE} is absent`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `${PYTHON} has no torch (apt-get install python3-torch)`;
}

function torchDream(c) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-zoo-torch-'));
  const args = [TORCH_REFERENCE, '--model', path.join(ZOO, c.fixture), '--layer', c.layer, '--range', c.range, '--filters', '0-15', '--steps', String(STEPS), '--batch', '16', '--threads', '2', '--seed', '1', '--out', out, ...(c.scale === 'fit' ? ['--resize224'] : [])];
  const { r, s } = timed(PYTHON, args);
  rmSync(out, { recursive: true, force: true });
  return r.status === 0 ? { s } : { error: (r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 100) };
}

/** `activations --layer all` on InceptionV3: the median of 5 whole-command runs after one warm-up. */
function activationsAll(runs = 5) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-zoo-acts-'));
  const args = [path.join(ROOT, 'bin/cnnviz.js'), 'activations', '-m', path.join(ZOO, 'inception-v3'), '--layer', 'all', '--backend', 'wasm', '-o', `${out}/`, path.join(ROOT, 'examples/cat.jpg')];
  const times = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const { r, s } = timed(process.execPath, args);
      if (r.status !== 0) return { error: firstError(r.stderr) };
      if (i > 0) times.push(s);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return { s: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], runs };
}

export default async function benchZoo() {
  console.log(`\n## zoo: 16-filter dream sheets, ${STEPS} steps, 128 px, whole command, cnnviz beside the PyTorch CPU reference (2 threads), one run each`);
  if (!existsSync(path.join(ZOO, 'inception-v3/model.json'))) {
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/zoo.js')], { encoding: 'utf8' });
    if (built.status !== 0) {
      console.log(`skipped: npm run zoo failed: ${built.stderr.trim().split('\n').pop()}`);
      return;
    }
  }
  console.log(`cores: ${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const noTorch = torchAvailable();
  const at512 = (s) => s * (512 / STEPS);
  const scaled = STEPS !== 512 ? ` (x${(512 / STEPS).toFixed(0)} from ${STEPS} steps)` : '';
  console.log('| fixture | layer | scale | cnnviz | PyTorch reference | ratio | target |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | --- |');
  for (const c of CASES.filter((k) => !ONLY || ONLY.includes(k.fixture))) {
    const ours = cnnvizDream(c);
    const ref = !c.reference ? { error: 'chains only (Add/Concatenate)' } : noTorch ? { error: noTorch } : torchDream(c);
    const oursText = ours.error ? `failed: ${ours.error.slice(0, 80)}` : `${at512(ours.s).toFixed(1)} s${scaled}`;
    const refText = ref.error ? `– (${ref.error})` : `${at512(ref.s).toFixed(1)} s${scaled}`;
    const ratio = !ours.error && !ref.error ? ours.s / ref.s : NaN;
    const target = c.targetS ? (ours.error ? '' : `<= ${c.targetS / 60} min: ${at512(ours.s) <= c.targetS ? 'met' : 'MISSED'}`) : Number.isFinite(ratio) ? c.target(ratio) : c.target(NaN).startsWith('reported') ? 'reported' : '';
    console.log(`| ${c.fixture} | ${c.layer} | ${c.scale} | ${oursText} | ${refText} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '–'} | ${target} |`);
  }
  if (!ONLY || ONLY.includes('inception-v3') || ONLY.includes('activations')) {
    const acts = activationsAll();
    console.log(`| inception-v3 | activations --layer all | one photo | ${acts.error ? `failed: ${acts.error}` : `${acts.s.toFixed(2)} s (median of ${acts.runs}, ${acts.min.toFixed(2)}-${acts.max.toFixed(2)})`} | | | <= 5 s: ${acts.error ? '' : acts.s <= 5 ? 'met' : 'MISSED'} |`);
  }
  console.log('MobileNet conv_pw_7_relu (<= 0.75x the reference at the same scale): see the dream section.');
}

if (import.meta.url === `file://${process.argv[1]}`) await benchZoo();
