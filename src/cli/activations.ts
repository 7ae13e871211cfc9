import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { FITS, checkOutputWritable, encodePng, writeOutput, type Fit } from '../image/io.js';
import { COLORMAPS } from '../image/colormap.js';
import { channelStats, renderFeatureGrid, topChannels, type ScaleMode } from '../image/feature-grid.js';
import { resolveIndexList, resolveLayers } from '../model/address.js';
import { checkActivationsMemory } from '../model/memory.js';
import { layerActivations, loadModelInput, topPredictions } from '../model/probe.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, checkStdout, choiceOption, defaultLayer, examples, IMAGE_FORMATS, intOption, openModelWithLabels, safeName, warnIfSizeIgnored, type CommonOptions, type LabelsOptions } from './options.js';
import { ui } from './ui.js';

interface ActivationsOptions extends CommonOptions, LabelsOptions {
  layer?: string;
  output?: string;
  fit: Fit;
  size?: number;
  tileSize: number;
  scale: ScaleMode;
  cmap: string;
  channels?: string;
  top?: number;
  maxPixels: number;
}

/** Where each layer's PNG goes: a file, stdout, a folder, or the default in the current folder; checked writable. */
function outputPaths(output: string | undefined, image: string, names: { index: number; name: string }[]): string[] {
  const isDir = output !== undefined && output !== '-' && (output.endsWith('/') || output.endsWith(path.sep) || (existsSync(output) && statSync(output).isDirectory()));
  if (isDir) {
    checkOutputWritable(output, 'folder');
    return names.map((l) => path.join(output, `${String(l.index).padStart(3, '0')}_${safeName(l.name)}.png`));
  }
  if (names.length > 1 && output !== undefined) {
    throw new UsageError(`${names.length} layers requested but -o '${output}' is one file: give a folder ending in '/' (e.g. -o out/)`);
  }
  if (output !== undefined) {
    checkOutputWritable(output);
    return [output];
  }
  const stem = image === '-' ? 'stdin' : path.parse(image).name;
  checkOutputWritable('.', 'folder');
  return names.map((l) => `${stem}.${safeName(l.name)}.png`);
}

/**
 * Run `work` on each item, at most `limit` at a time, stopping at the first failure. A whole
 * network's grids at once are hundreds of megabytes: drawing one grid while the one before it
 * is encoded keeps the memory (and the time spent mapping it) to a few grids.
 */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function activationsCommand(): Command {
  const cmd = new Command('activations')
    .description("show a layer's feature maps for an image, one tile per channel, as a PNG grid")
    .argument('<image>', `image file (${IMAGE_FORMATS}), or '-' for stdin`)
    .option('-l, --layer <spec>', "layer index (-1 = last), name, list '1,5,conv2', range '3-7', or 'all' (default: the first convolution)")
    .option('-o, --output <path>', "PNG file, folder ending in '/' (one file per layer), or '-' for stdout (default: <image>.<layer>.png)")
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--size <px>', 'input side for models that take any size; a fixed-size model warns and uses its own (default: the image size, at most 512)', intOption('--size', 8, 4096))
    .option('--tile-size <px>', 'enlarge small maps (nearest neighbour) to at least this many pixels', intOption('--tile-size', 1, 1024), 64)
    .addOption(new Option('--scale <mode>', 'layer: one colour range for all tiles; channel: each tile stretched').default('layer').argParser(choiceOption('--scale', ['layer', 'channel'] as const)))
    .addOption(new Option('--cmap <name>', `colormap: ${COLORMAPS.join('|')}`).default('viridis').argParser(choiceOption('--cmap', COLORMAPS)))
    .option('--channels <list>', "channels to show, e.g. '0-31' or '3,7' (default: all)")
    .option('--top <n>', 'show only the n channels with the highest mean activation (default: all)', intOption('--top', 1))
    .option('--json', 'print per-layer shape, per-channel min/max/mean and output path as JSON on stdout', false)
    .action(async (image: string, opts: ActivationsOptions) => {
      if (opts.channels && opts.top) throw new UsageError('--channels and --top both choose tiles: give one of them');
      checkStdout(opts);
      const loaded = await openModelWithLabels(opts);
      warnIfSizeIgnored(loaded, opts.size);
      const layers = loaded.graph.layers;
      const indices = resolveLayers(opts.layer ?? defaultLayer(layers), layers);
      const targets = outputPaths(opts.output, image, indices.map((i) => layers[i]));

      checkActivationsMemory(loaded, indices, opts.size, { tileSize: opts.tileSize });
      const t0 = Date.now();
      const { tensor } = await loadModelInput(loaded, image, { fit: opts.fit, size: opts.size, maxMegapixels: opts.maxPixels });
      const { layers: acts, final } = layerActivations(loaded, tensor, indices);
      tensor.dispose();
      ui.debug(`forward pass + read-back: ${Date.now() - t0} ms for ${indices.length} layer(s)`);

      const results = acts.map((act, j) => {
        const stats = channelStats(act.maps);
        const count = stats.length;
        const owner = `layer ${act.name}`;
        const channels = opts.top ? topChannels(stats, opts.top) : opts.channels ? resolveIndexList(opts.channels, count, 'channel', owner) : undefined;
        return { act, stats, channels, path: targets[j] };
      });
      // Level 4: a whole network's grids are tens of megapixels; it encodes them in about 30% less
      // time than level 6, for files about 8% larger.
      await forEachLimited(results, 2, async (r) =>
        writeOutput(r.path, await encodePng(renderFeatureGrid(r.act.maps, { channels: r.channels, scale: opts.scale, cmap: opts.cmap, tileSize: opts.tileSize }), 4)),
      );
      ui.debug(`total: ${Date.now() - t0} ms`);

      const predictions = final ? topPredictions(final, loaded.meta.labels, 5) : undefined;
      final?.dispose();
      if (predictions && !opts.json) {
        ui.info(`top-${predictions.length}: ${predictions.map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(', ')}`);
      }
      if (opts.json) {
        ui.json({
          image,
          model: loaded.source,
          predictions,
          layers: results.map((r) => ({
            index: r.act.index,
            name: r.act.name,
            shape: r.act.shape,
            channels: r.stats.map((s, c) => ({ channel: c, ...s })),
            shown: r.channels ?? null,
            output: r.path,
          })),
        });
      } else if (opts.output !== '-') {
        for (const r of results) ui.info(`wrote ${r.path}  (${r.act.name}, [${r.act.shape.join(', ')}])`);
      }
    });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz activations examples/cat.jpg --layer 25',
    'cnnviz activations examples/cat.jpg --layer all -o out/',
    'cnnviz activations examples/cat.jpg --layer base/conv_pw_5_relu --top 16 --scale channel --cmap magma',
    'cat photo.png | cnnviz activations - --layer 3 -o - > maps.png',
    'cnnviz activations examples/cat.jpg --layer 1 --fit contain --channels 0-7 --tile-size 128',
    "cnnviz activations photo.jpg -m mobilenet/ --input-range -1,1 --layer 5-7 -o out/ --json | jq '.layers[].shape'",
  ]);
}

