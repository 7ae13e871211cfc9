import path from 'node:path';
import { BASELINES } from '../attribution/baselines.js';
import { CAM_METHODS, type CamMethod } from '../attribution/cam.js';
import { evaluatePhotos, evaluationPhotos, evaluatorSpec, summarise, type EvaluateOptions, type PhotoEvaluation } from '../attribution/evaluate.js';
import { FAITHFULNESS_DEFAULTS, HIGHER_IS_BETTER, METRICS, type Metric } from '../attribution/faithfulness.js';
import { camLayer } from '../attribution/layer.js';
import { UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { exitOnFailures, failureReason } from './many.js';
import { progressBar, ui } from './ui.js';

/**
 * `cam --evaluate <dir>`: the faithfulness table of the chosen CAM methods beside the
 * baselines (src/attribution/evaluate.ts), on stderr, or one JSON object on stdout.
 */

const HEADINGS: Record<Metric, string> = { deletion: 'deletion', insertion: 'insertion', roadMorf: 'ROAD MoRF', roadLerf: 'ROAD LeRF' };

/** --method for cam: one method, 'all', or (with --evaluate) a comma-separated list. */
export function parseCamMethods(value: string): CamMethod[] {
  const names = value.toLowerCase().split(',').map((m) => m.trim());
  if (names.length === 1 && names[0] === 'all') return [...CAM_METHODS];
  for (const m of names) if (!(CAM_METHODS as readonly string[]).includes(m)) throw new UsageError(`bad --method '${value}': choose one of ${CAM_METHODS.join(', ')} (with --evaluate also all, or several separated by commas)`);
  return [...new Set(names)] as CamMethod[];
}

export interface EvaluateCliOptions extends EvaluateOptions {
  json?: boolean;
  class?: string[];
  top?: number;
}

export async function runCamEvaluation(loaded: LoadedModel, dir: string, opts: EvaluateCliOptions): Promise<void> {
  if (opts.class !== undefined || opts.top !== undefined) throw new UsageError('--evaluate explains each photo\'s predicted class: drop --class and --top');
  // The folder first: it is what the user named, and a wrong one is the likelier mistake.
  const files = await evaluationPhotos(dir, opts.sample, opts.seed);
  evaluatorSpec(loaded, opts);
  const info = loaded.graph.layers[camLayer(loaded, opts.layer)];
  const methods = opts.methods ?? ['gradcam'];
  const steps = opts.steps ?? FAITHFULNESS_DEFAULTS.steps;
  ui.info(`evaluating ${methods.join(', ')} at layer ${info.index} ${info.name} and the ${BASELINES.join(', ')} baselines on ${files.length} photos of ${dir}${opts.sample !== undefined ? ` (a sample, --seed ${opts.seed ?? 0})` : ''}`);
  const results = new Map<string, PhotoEvaluation>();
  const failed: { image: string; error: string }[] = [];
  const t0 = Date.now();
  let bar: ReturnType<typeof progressBar> | undefined;
  await evaluatePhotos(loaded, files, opts, {
    onPhoto: (file, result) => results.set(file.name, result),
    onFailed: (file, error) => {
      const shown = path.join(dir, file.name);
      const reason = failureReason(error, file.abs);
      failed.push({ image: shown, error: reason });
      ui.error(`${shown}: ${reason}`);
    },
    onProgress: (done, total) => {
      bar ??= progressBar(total, ' {bar} {value}/{total} photos | ETA {eta_formatted}');
      bar.update(done);
    },
  });
  bar?.stop();
  const names = [...results.keys()].sort();
  const summary = summarise(names.map((n) => results.get(n)!));
  const secs = (Date.now() - t0) / 1000;
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        dir,
        layer: info.name,
        methods,
        baselines: BASELINES,
        score: 'class probability (softmax; sigmoid for a one-unit head) of the predicted class',
        settings: { steps, roadFractions: FAITHFULNESS_DEFAULTS.roadFractions, seed: opts.seed ?? 0, sample: opts.sample ?? null },
        photos: summary.photos,
        failed,
        summary: summary.maps,
        images: names.map((n) => ({ image: path.join(dir, n), ...results.get(n)! })),
        seconds: secs,
        // The whole process, every worker thread and start-up included: the figure that stays honest on a loaded machine.
        cpuSeconds: Object.values(process.cpuUsage()).reduce((a, b) => a + b, 0) / 1e6,
      })}\n`,
    );
  } else if (summary.photos) {
    const cell = (m: { mean: number; sem: number }) => `${m.mean.toFixed(3)} ± ${m.sem.toFixed(3)}`.padEnd(15);
    ui.info(`class probability (softmax) of each photo's predicted class, mean ± standard error over ${summary.photos} photos; deletion/insertion: area over ${steps} steps, ROAD: mean over 10..90 % removed`);
    ui.info(`${'map'.padEnd(10)} ${METRICS.map((m) => `${HEADINGS[m]} ${HIGHER_IS_BETTER[m] ? '↑' : '↓'}`.padEnd(15)).join(' ')}`);
    for (const m of summary.maps) ui.info(`${m.name.padEnd(10)} ${METRICS.map((k) => cell(m.metrics[k])).join(' ')}`);
    ui.info(`${summary.photos} photos in ${secs.toFixed(1)} s${failed.length ? `, ${failed.length} failed` : ''}`);
  }
  if (!summary.photos && failed.length) ui.error(`no photo of ${dir} could be evaluated`);
  await exitOnFailures(Promise.resolve(failed.length ? 1 : 0));
}
