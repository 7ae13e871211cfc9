import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable } from '../image/io.js';
import { parseShard } from '../dataset-index/files.js';
import { addModelOptions, examples, intOption, openModel, type CommonOptions } from './options.js';
import { progressBar, ui, type Progress } from './ui.js';

interface ReportOptions extends CommonOptions {
  images?: string;
  output?: string;
  layers?: string;
  units: string;
  steps: number;
  seed: number;
  shard?: string;
  merge?: string[];
  imagePages: number;
  top: number;
  workers?: number;
}

export function reportCommand(): Command {
  const cmd = new Command('report')
    .description('write an offline Microscope for a model: a static site with a page per layer and per unit (dreams, dataset examples, histogram, reproducing commands) and image pages')
    .option('--images <folder>', 'photos for the dataset examples, histograms and image pages (required unless --merge)')
    .option('-o, --output <folder>', 'the site folder: created, or brought up to date', 'report')
    .option('-l, --layers <spec>', "layers with unit pages: indices, names, ranges, lists (default: index's default, every spatial layer ending in a non-linearity)")
    .option('--units <list>', "units of each layer: '0-15', '1,5,9' or 'all'", 'all')
    .option('--steps <n>', 'optimization steps of every dream', intOption('--steps', 1, 100000), 256)
    .option('--seed <n>', 'seed of every dream (printed in each unit page\'s commands)', intOption('--seed', 0, 2 ** 31 - 1), 0)
    .option('--shard <k/n>', 'render only shard k of n of the units (merge the folders with --merge)')
    .option('--merge <folders...>', 'join report folders made with --shard into -o instead of rendering')
    .option('--image-pages <n>', 'photos that get an image page (the first, by path)', intOption('--image-pages', 0, 1000), 3)
    .option('-k, --top <k>', 'dataset examples per unit, top and bottom', intOption('--top', 1, 100), 9)
    .option('--workers <n>', 'worker threads for dreams and the index (default: one per core)', intOption('--workers', 1, 256))
    .action(async (opts: ReportOptions) => {
      const out = opts.output!;
      if (opts.merge) {
        if (opts.images || opts.shard) throw new UsageError('--merge joins finished shard folders: give it with -o only, not --images or --shard');
        const { checkReportFolders, mergeReports } = await import('../report/merge.js');
        checkReportFolders(opts.merge);
        checkOutputWritable(out, 'folder');
        const r = await mergeReports(opts.merge, out);
        ui.info(`merged ${opts.merge.length} shards into ${out} (${r.files} files)`);
        return;
      }
      if (!opts.images) throw new UsageError('no photos: give --images <folder> (the dataset examples and histograms come from it)');
      const shard = opts.shard ? parseShard(opts.shard) : undefined;
      checkOutputWritable(out, 'folder');
      const loaded = await openModel(opts);
      const { buildReport } = await import('../report/build.js');
      const bars = new Map<string, Progress>();
      const t0 = Date.now();
      try {
        const r = await buildReport(loaded, out, {
          images: [opts.images],
          layers: opts.layers,
          units: opts.units,
          steps: opts.steps,
          seed: opts.seed,
          modelArg: opts.model,
          shard,
          imagePages: opts.imagePages,
          examples: opts.top,
          workers: opts.workers,
          onProgress: (phase, done, total) => {
            let bar = bars.get(phase);
            if (!bar) bars.set(phase, (bar = progressBar(total, `{bar} ${phase} {value}/{total} | ETA {eta_formatted}`)));
            bar.update(done);
            if (done >= total) bar.stop();
          },
        });
        const phases = Object.entries(r.phases).filter(([, t]) => t.wall > 0).map(([k, t]) => `${k} ${t.wall.toFixed(1)} s (cpu ${t.cpu.toFixed(1)} s)`);
        ui.debug(`time by phase: ${phases.join(', ')}`);
        ui.info(`wrote ${out}/index.html: ${r.layers} layers, ${r.units} unit pages${shard ? ` (shard ${shard.k}/${shard.n})` : ''}; dreams ${r.dreamsMade} painted, ${r.dreamsKept} kept; ${r.pagesWritten} pages changed; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        for (const b of bars.values()) b.stop();
      }
    });
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz report --images examples/ --layers conv_pw_7_relu --units 0-7 --steps 32 -o site   # then open site/index.html',
    'cnnviz report -m mobilenet/ --images photos/ --layers conv_pw_7_relu,conv_pw_11_relu,conv_pw_13_relu -o site',
    'cnnviz report --images examples/ --units 0-15 --steps 32 --shard 1/2 -o s1 && cnnviz report --merge s1 s2 -o site',
  ]);
}
