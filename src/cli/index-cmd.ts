import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable, FITS, type Fit } from '../image/io.js';
import { buildIndex } from '../dataset-index/build.js';
import { chooseLayers } from '../dataset-index/compute.js';
import { parseShard } from '../dataset-index/files.js';
import { readManifest } from '../dataset-index/format.js';
import { mergeIndexes } from '../dataset-index/merge.js';
import { modelInputSize } from '../model/probe.js';
import { exitOnFailures, failureReason } from './many.js';
import { addMaxPixelsOption, addModelOptions, choiceOption, examples, intOption, openModel, startBackend, warnIfSizeIgnored, type CommonOptions } from './options.js';
import { progressBar, ui } from './ui.js';

interface IndexOptions extends CommonOptions {
  layers?: string;
  output: string;
  fit: Fit;
  size?: number;
  shard?: string;
  merge?: string[];
  batch: number;
  workers?: number;
  maxPixels: number;
}

/** A path as the user would type it from here: relative when under the current folder. */
function shown(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

async function runMerge(photos: string[], opts: IndexOptions): Promise<void> {
  if (photos.length) throw new UsageError(`--merge joins index folders: give them after --merge, not photos (${photos[0]})`);
  if (opts.shard) throw new UsageError('--merge and --shard: merge the shards in a run of their own, without --shard');
  await startBackend(opts);
  checkOutputWritable(opts.output, 'folder');
  const { files } = await mergeIndexes(opts.merge!, opts.output);
  ui.info(`merged ${opts.merge!.length} indexes (${files} photos) into ${opts.output}`);
}

export function indexCommand(): Command {
  const cmd = new Command('index')
    .description('record, for every photo of a folder, each channel\'s max/mean/min and where: the index `examples` ranks photos from')
    .argument('[photos...]', 'folders (walked for .jpg .jpeg .png .webp .gif .tif .tiff .avif) or image files')
    .requiredOption('-o, --output <folder>', 'the index folder: created, or extended when it already holds an index (docs/index.md)')
    .option('-l, --layers <spec>', "layers: indices, names, ranges '3-7', lists '1,conv_pw_5_relu', or 'all' (every 4-D layer) (default: every spatial layer that ends in a non-linearity; on re-runs, the index's own)")
    .addOption(new Option('--fit <mode>', `how a photo meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--size <px>', 'input side for models that take any size', intOption('--size', 8, 4096))
    .option('--shard <k/n>', 'index only shard k of n (chosen by a hash of each path below its folder argument): run n of these, then --merge')
    .option('--merge <indexes...>', 'join index folders (shards) into -o instead of indexing photos')
    .option('--batch <n>', 'photos per forward pass', intOption('--batch', 1, 1024), 16)
    .option('--workers <n>', 'worker threads (default: one per core)', intOption('--workers', 1, 256))
    .action(async (photos: string[], opts: IndexOptions) => {
      if (opts.merge) return runMerge(photos, opts);
      if (photos.length === 0) throw new UsageError('no photos given: name a folder or image files to index (or --merge index folders)');
      const shard = opts.shard !== undefined ? parseShard(opts.shard) : undefined;
      checkOutputWritable(opts.output, 'folder');
      const existing = await readManifest(opts.output);
      const loaded = await openModel(opts);
      warnIfSizeIgnored(loaded, opts.size);
      const layers = chooseLayers(loaded, opts.layers ?? existing?.layers.map((l) => l.name).join(','), modelInputSize(loaded, opts));
      ui.debug(`layers: ${layers.map((l) => l.name).join(', ')}`);
      const t0 = Date.now();
      let bar: ReturnType<typeof progressBar> | undefined;
      let failures = 0;
      const report = await buildIndex(loaded, photos, opts.output, layers, {
        fit: opts.fit,
        size: opts.size,
        maxMegapixels: opts.maxPixels,
        batchSize: opts.batch,
        workers: opts.workers ?? os.availableParallelism(),
        shard,
        onFailed: (file, error) => {
          failures++;
          ui.error(`${shown(file)}: ${failureReason(error, file)}`);
        },
        onProgress: (done, total) => {
          if (!bar && total > 0) bar = progressBar(total, ' {bar} {value}/{total} photos | {rate} photos/s | ETA {eta_formatted}', { rate: '-' });
          // No update at 0: the bar's ETA has no rate to go by yet (it would print 'NF').
          if (done) bar?.update(done, { rate: (done / ((Date.now() - t0) / 1000)).toFixed(1) });
        },
      });
      bar?.stop();
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      ui.info(`indexed ${report.files} photos into ${opts.output} (${report.computed} computed, ${report.dropped} dropped, ${report.failed.length} failed) in ${secs} s`);
      await exitOnFailures(Promise.resolve(failures ? 1 : 0));
    });
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz index photos/ -o photos.index',
    'cnnviz index photos/ -m mobilenet/ --layers conv_pw_5_relu,conv_pw_9_relu -o photos.index',
    'cnnviz index photos/ -o photos.index          # again: only new or changed photos are computed',
    "parallel cnnviz index photos/ --shard {}/4 -o shard{} ::: 1 2 3 4 && cnnviz index --merge shard1 shard2 shard3 shard4 -o photos.index",
  ]);
}
