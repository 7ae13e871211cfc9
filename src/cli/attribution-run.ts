import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { mapStats, type AttributionMap } from '../attribution/map.js';
import { mapPeak, renderMaps, type RenderOptions } from '../attribution/render.js';
import { UsageError } from '../errors.js';
import { COLORMAPS } from '../image/colormap.js';
import { checkOutputWritable, encodePng, FITS, writeOutput, type Fit } from '../image/io.js';
import { refuseTerminalStdin } from '../image/stdin.js';
import { type LoadedModel } from '../model/load.js';
import { loadModelInput } from '../model/probe.js';
import { forEachInput } from './many.js';
import { checkStdout, choiceOption, floatOption, intOption, safeName, type CommonOptions, type LabelsOptions } from './options.js';
import { ui } from './ui.js';

/**
 * What `cam` and `saliency` share: the class and picture options, and the per-image job
 * (read the image, explain it, draw it, write it) run by the many-inputs rule (many.ts).
 */

export interface AttributionCliOptions extends CommonOptions, LabelsOptions {
  class?: string[];
  top?: number;
  output?: string;
  json?: boolean;
  raw: boolean;
  alpha: number;
  cmap: string;
  scale: 'map' | 'global';
  range?: number;
  fit: Fit;
  maxPixels: number;
  /** cam --input-scale native: the image at its own size. */
  inputScale?: 'fit' | 'native';
}

export function addAttributionOptions(cmd: Command, what: string): Command {
  return cmd
    .option('-c, --class <class>', "the class to explain: an index, a label (or one of its comma-separated names), or 'all'; repeat for several, one tile each (default: the predicted class)", (v: string, prev: string[] = []) => [...prev, v])
    .option('-k, --top <n>', 'explain the n highest-scoring classes, one tile each', intOption('--top', 1))
    .option('-o, --output <path>', `PNG file (one image), folder ending in '/', or '-' for stdout (default: <image>.${what}.png)`)
    .option('--raw', 'the bare map in the colormap, without the photo', false)
    .option('--alpha <a>', "the map's opacity over the photo", floatOption('--alpha', 0, 1), 0.5)
    .addOption(new Option('--cmap <name>', `colormap: ${COLORMAPS.join('|')}`).default('inferno').argParser(choiceOption('--cmap', COLORMAPS)))
    .addOption(new Option('--scale <mode>', "map: each map from 0 to its own peak; global: one range for every map of the run (all classes, all images: the largest peak, or --range)").default('map').argParser(choiceOption('--scale', ['map', 'global'] as const)))
    .option('--range <v>', 'with --scale global: the value drawn at the top of the colormap, the same for every image (see the peaks --json prints)', floatOption('--range', 0))
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--json', 'JSON Lines on stdout, one object per image: {image, layer, method, output, maps: [{class, label, score, peak, min, max, mean, sum}]}', false);
}

/** The output path of each image: checked before any work. */
function outputFor(images: string[], output: string | undefined, what: string): (image: string) => string {
  checkStdout({ output, json: false });
  const isDir = output !== undefined && output !== '-' && (output.endsWith('/') || output.endsWith(path.sep) || (existsSync(output) && statSync(output).isDirectory()));
  const stem = (image: string) => (image === '-' ? 'stdin' : path.parse(image).name);
  if (isDir) {
    checkOutputWritable(output, 'folder');
    return (image) => path.join(output, `${stem(image)}.${what}.png`);
  }
  if (output !== undefined) {
    if (images.length > 1) throw new UsageError(`${images.length} images but -o '${output}' is one file: give a folder ending in '/' (e.g. -o out/)`);
    if (output !== '-') checkOutputWritable(output);
    return () => output;
  }
  checkOutputWritable('.', 'folder');
  return (image) => `${stem(image)}.${what}.png`;
}

interface ImageResult {
  output: string;
  maps: AttributionMap[];
}

const stats = (m: AttributionMap) => {
  const s = mapStats(m);
  return { class: m.class, label: m.label, score: m.score, peak: s.peak, min: s.min, max: s.max, mean: s.mean, sum: s.sum, ...(m.detail ? { detail: m.detail } : {}) };
};

/**
 * Explain every image with `explain` and write its picture; one line (or JSON object) per
 * image, one error line per bad one, exit 1 if any failed. `header` goes to stderr first.
 */
export async function runAttribution(loaded: LoadedModel, images: string[], opts: AttributionCliOptions, what: string, extra: Record<string, unknown>, explain: (x: import('@tensorflow/tfjs').Tensor4D) => AttributionMap[]): Promise<void> {
  if (images.filter((i) => i === '-').length > 1) throw new UsageError("'-' given more than once: standard input holds one image");
  if (opts.output === '-' && opts.json) checkStdout(opts);
  const dest = outputFor(images, opts.output, what);
  if (images.includes('-')) refuseTerminalStdin();
  const render: RenderOptions = { raw: opts.raw, alpha: opts.alpha, cmap: opts.cmap, scale: opts.scale, range: opts.range };
  const compute = async (image: string) => {
    const { raster, tensor } = await loadModelInput(loaded, image, { fit: opts.fit, maxMegapixels: opts.maxPixels, native: opts.inputScale === 'native' });
    try {
      return { raster, maps: explain(tensor) };
    } finally {
      tensor.dispose();
    }
  };
  // --scale global over several images without --range: every map first, then one range for all.
  const early = new Map<string, Promise<Awaited<ReturnType<typeof compute>>>>();
  if (opts.scale === 'global' && opts.range === undefined && images.length > 1) {
    let top = 0;
    for (const image of images) {
      const p = compute(image);
      p.catch(() => undefined);
      early.set(image, p);
      const done = await p.catch(() => undefined);
      for (const m of done?.maps ?? []) top = Math.max(top, mapPeak(m));
    }
    render.range = top;
  }
  const job = async (image: string): Promise<ImageResult> => {
    const { raster, maps } = await (early.get(image) ?? compute(image));
    const output = dest(image);
    await writeOutput(output, await encodePng(renderMaps(maps, raster, render)));
    return { output, maps };
  };
  const describe = (m: AttributionMap) => {
    const s = mapStats(m);
    return `${m.label} (${m.class}) score ${m.score.toFixed(2)}, peak at (${s.peak.fx.toFixed(2)}, ${s.peak.fy.toFixed(2)}) of the picture`;
  };
  if (opts.output === '-') {
    // stdout holds the PNG: the one image's line goes to stderr.
    const r = await job(images[0]);
    ui.info(`${images[0]}: ${r.maps.map(describe).join('; ')}`);
    return;
  }
  await forEachInput(images, job, {
    key: 'image',
    asJson: !!opts.json,
    line: (r, image) => `${image}: ${r.maps.map(describe).join('; ')} → ${r.output}`,
    json: (r) => ({ ...extra, output: r.output, maps: r.maps.map(stats) }),
  });
}
