// Worker-pool throughput: the same batch of independent CPU-bound jobs (gradient steps of
// a small conv net on wasm) with one worker and with one per core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorkerPool } from '../dist/backend/pool.js';
import { fmt } from './_util.js';

const JOBS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/backend/pool-jobs.js');

async function throughput(size, jobs) {
  const pool = createWorkerPool({ size, backend: 'wasm' });
  try {
    // Start every worker's backend (and compile the job module) before timing.
    await pool.runAll(Array.from({ length: size }, () => ({ module: JOBS, fn: 'gradientSteps', args: { steps: 5, size: 128 } })));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await pool.runAll(Array.from({ length: jobs }, (_, i) => ({ module: JOBS, fn: 'gradientSteps', args: { steps: 40, size: 128, channel: i % 8 } })));
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    // process.cpuUsage counts every thread, workers included.
    return { seconds, coresUsed: (c.user + c.system) / 1e6 / seconds };
  } finally {
    await pool.close();
  }
}

export default async function benchPool({ jobs } = {}) {
  const n = os.availableParallelism();
  const count = jobs ?? 4 * n;
  console.log(`\n## Worker pool: ${count} jobs of 40 gradient steps (128 px conv net, wasm), 1 vs ${n} workers`);
  const one = await throughput(1, count);
  const all = n > 1 ? await throughput(n, count) : one;
  console.log('| workers | seconds | jobs/s | speed-up | cores the OS gave us (CPU s / wall s) |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  console.log(`| 1 | ${fmt(one.seconds, 2)} | ${fmt(count / one.seconds, 2)} | 1.00x | ${fmt(one.coresUsed, 2)} |`);
  if (n > 1) {
    const speedup = one.seconds / all.seconds;
    console.log(`| ${n} | ${fmt(all.seconds, 2)} | ${fmt(count / all.seconds, 2)} | ${fmt(speedup, 2)}x | ${fmt(all.coresUsed, 2)} |`);
    console.log(`\nspeed-up with ${n} workers: ${fmt(speedup, 2)}x (target ≥ ${fmt(0.9 * n, 1)}x: ${speedup >= 0.9 * n ? 'met' : 'MISSED'}).` +
      ` The speed-up is bounded by the cores the OS grants the process: ${fmt(all.coresUsed, 2)} of ${n} here` +
      `${all.coresUsed < 0.9 * n ? ' (the machine is shared; measure when it is idle)' : ''}.`);
  }
  await benchPoolDream();
}



// The same question on the real work: one `dream` sheet (two batches of 8 filters), on one
// thread and on the pool, as a user runs it (start-up and model loading in each worker
// included). CNNVIZ_BENCH_POOL_STEPS sets the steps (default 64).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');

function dreamArgs(filters, workers, steps, tag) {
  const out = path.join(os.tmpdir(), `cnnviz-bench-pool-${process.pid}-${tag}.png`);
  return { out, args: [path.join(ROOT, 'bin/cnnviz.js'), 'dream', '-m', MOBILENET, '--layer', 'conv_pw_3_relu', '--filters', filters, '--steps', String(steps), '--seed', '7', '--backend', 'wasm', '--workers', String(workers), '-o', out] };
}

function dreamSheetSeconds(workers, steps) {
  const { out, args } = dreamArgs('0-15', workers, steps, workers);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(out, { force: true });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').pop());
  return seconds;
}

/** One batch in `n` separate single-threaded processes at once: what the machine gives without any pool. */
async function separateProcessesSeconds(n, steps) {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const { out, args } = dreamArgs(`${8 * i}-${8 * i + 7}`, 1, steps, `p${i}`);
      return new Promise((resolve, reject) => {
        spawn(process.execPath, args, { stdio: 'ignore' }).on('close', (code) => {
          rmSync(out, { force: true });
          return code === 0 ? resolve() : reject(new Error(`dream exited with ${code}`));
        });
      });
    }),
  );
  return (performance.now() - t0) / 1000;
}

export async function benchPoolDream() {
  const n = os.availableParallelism();
  const steps = Number(process.env.CNNVIZ_BENCH_POOL_STEPS ?? 64);
  console.log(`\n## Worker pool on a dream sheet: 16 filters of MobileNet conv_pw_3_relu (2 batches of 8), ${steps} steps, whole command`);
  if (!existsSync(MOBILENET)) {
    console.log(`skipped: ${MOBILENET} is absent (../shared is not beside the project)`);
    return;
  }
  if (n < 2) {
    console.log('skipped: one core');
    return;
  }
  const one = dreamSheetSeconds(1, steps);
  const pool = dreamSheetSeconds(2, steps);
  const apart = await separateProcessesSeconds(2, steps);
  const speedup = one / pool;
  const ceiling = one / apart;
  console.log('| run | seconds | speed-up |');
  console.log('| --- | ---: | ---: |');
  console.log(`| 1 worker (this thread), both batches | ${fmt(one, 1)} | 1.00x |`);
  console.log(`| 2 workers (the pool), a batch each | ${fmt(pool, 1)} | ${fmt(speedup, 2)}x |`);
  console.log(`| 2 separate cnnviz processes at once, a batch each (no pool) | ${fmt(apart, 1)} | ${fmt(ceiling, 2)}x |`);
  console.log(`\nsheet speed-up with 2 workers: ${fmt(speedup, 2)}x (target ≥ 1.8x: ${speedup >= 1.8 ? 'met' : 'MISSED'}).` +
    ` Two independent processes reach ${fmt(ceiling, 2)}x on this machine, so the pool keeps ${fmt((100 * speedup) / ceiling, 0)}% of what its cores allow;` +
    ` load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPool();
