// Worker-pool throughput: the same batch of independent CPU-bound jobs (gradient steps of
// a small conv net on wasm) with one worker and with one per core.
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
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPool();
