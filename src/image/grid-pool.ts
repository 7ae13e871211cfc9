import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { drawGridPng, type GridPngResult, type GridPngTask } from './grid-worker.js';

export interface GridPngRenderer {
  /** How many tasks it works on at once; more wait in its queue. */
  readonly concurrency: number;
  /** Takes over `task.maps.values`: the caller must not use them afterwards. */
  render(task: GridPngTask): Promise<GridPngResult>;
  close(): Promise<void>;
}

/**
 * Draws and encodes feature grids in worker threads, so that the thread running the forward
 * pass is not also the one colouring hundreds of megapixels (`activations --layer all` on
 * InceptionV3 draws 361). Each worker takes two grids at a time: it draws one while sharp
 * encodes the other on the thread pool. The workers import only the image code (no tfjs), so
 * they start in tens of milliseconds, while the model loads.
 *
 * Code running from TypeScript source (the test runner) has no compiled worker beside it and
 * draws on the calling thread; so does `threads: 0`.
 */
export function createGridPngRenderer(threads = Math.min(2, os.availableParallelism())): GridPngRenderer {
  const file = fileURLToPath(new URL('./grid-worker.js', import.meta.url));
  if (threads < 1 || !existsSync(file)) return { concurrency: 2, render: drawGridPng, close: async () => {} };
  const piscina = new Piscina<GridPngTask, GridPngResult>({
    filename: pathToFileURL(file).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 2,
    idleTimeout: Infinity,
  });
  return {
    concurrency: 2 * threads,
    // The values move to the worker instead of being copied when they fill their own buffer:
    // the caller hands them over (hundreds of megabytes for a whole network).
    render: (task) => {
      const { values } = task.maps;
      const whole = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength && values.buffer instanceof ArrayBuffer;
      return piscina.run(task, whole ? { transferList: [values.buffer as ArrayBuffer] } : {});
    },
    close: () => piscina.destroy(),
  };
}
