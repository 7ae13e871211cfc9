import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWorkerPool, type WorkerPool } from '../src/backend/pool.js';

// Workers run the compiled dist/ (built by `prepare` on npm ci); without it there is nothing to run.
const JOBS = fileURLToPath(new URL('../dist/backend/pool-jobs.js', import.meta.url));
const WORKER = fileURLToPath(new URL('../dist/backend/pool-worker.js', import.meta.url));
const built = existsSync(JOBS) && existsSync(WORKER);
if (!built) console.warn(`pool tests skipped: ${WORKER} is missing, run 'npm run build' first`);
const maybe = built ? describe : describe.skip;

maybe('worker pool', () => {
  let pool: WorkerPool;
  const progress: Array<[number, unknown]> = [];
  beforeAll(() => {
    pool = createWorkerPool({ size: 2, backend: 'wasm', workerFile: WORKER, onProgress: (id, info) => progress.push([id, info]) });
  });
  afterAll(async () => {
    await pool.close();
  });

  test('runs jobs on worker threads with their own wasm backend, results in order', async () => {
    const results = await pool.runAll<{ backend: string; threadId: number; echo: unknown }>(
      [0, 1, 2, 3].map((i) => ({ module: JOBS, fn: 'whereAmI', args: { echo: { i, data: [i, 'x'] } } })),
    );
    expect(pool.size).toBe(2);
    expect(results.map((r) => r.echo)).toEqual([0, 1, 2, 3].map((i) => ({ i, data: [i, 'x'] })));
    for (const r of results) {
      expect(r.backend).toBe('wasm');
      expect(r.threadId).toBeGreaterThan(0); // not the main thread
    }
  });

  test('every progress report arrives before its job resolves', async () => {
    progress.length = 0;
    const results = await pool.runAll<{ steps: number; mean: number }>([
      { module: JOBS, fn: 'gradientSteps', args: { steps: 3, size: 16 } },
      { module: JOBS, fn: 'gradientSteps', args: { steps: 2, size: 16, channel: 1 } },
    ]);
    expect(results.map((r) => r.steps)).toEqual([3, 2]);
    results.forEach((r) => expect(Number.isFinite(r.mean)).toBe(true));
    expect(progress.filter(([id]) => id === 0).map(([, info]) => info)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(progress.filter(([id]) => id === 1).map(([, info]) => info)).toEqual([{ step: 1 }, { step: 2 }]);
  });

  test('a missing export or a relative module path is reported by name', async () => {
    await expect(pool.run({ module: JOBS, fn: 'nope', args: {} })).rejects.toThrow(/no exported function 'nope'/);
    await expect(pool.run({ module: 'dist/backend/pool-jobs.js', fn: 'whereAmI', args: {} })).rejects.toThrow(/absolute path or file URL/);
    // The pool still works after a failed job.
    await expect(pool.run({ module: JOBS, fn: 'whereAmI', args: { echo: 5 } })).resolves.toMatchObject({ echo: 5 });
  });
});
