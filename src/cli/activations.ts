import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { FITS, encodePng, writeOutput, type Fit } from '../image/io.js';
import { COLORMAPS } from '../image/colormap.js';
import { channelStats, renderFeatureGrid, topChannels, type ScaleMode } from '../image/feature-grid.js';
import { resolveIndexList, resolveLayers } from '../model/address.js';
import { checkActivationsMemory } from '../model/memory.js';
import { layerActivations, loadModelInput, topPredictions } from '../model/probe.js';
import { addMaxPixelsOption, addModelOptions, choiceOption, examples, intOption, openModel, type CommonOptions } from './options.js';
import { ui } from './ui.js';

interface ActivationsOptions extends CommonOptions {
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

/** Layer names become file names: nested `outer/inner` must not become folders. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** Where each layer's PNG goes: a file, stdout, a folder, or the default beside the cwd. */
function outputPaths(output: string | undefined, image: string, names: { index: number; name: string }[]): string[] {
  const isDir = output !== undefined && output !== '-' && (output.endsWith('/') || output.endsWith(path.sep) || (existsSync(output) && statSync(output).isDirectory()));
  if (isDir) return names.map((l) => path.join(output, `${String(l.index).padStart(3, '0')}_${safeName(l.name)}.png`));
  if (names.length > 1 && output !== undefined) {
    throw new UsageError(`${names.length} layers requested but -o '${output}' is one file: give a folder ending in '/' (e.g. -o out/)`);
  }
  if (output !== undefined) return [output];
  const stem = image === '-' ? 'stdin' : path.parse(image).name;
  return names.map((l) => `${stem}.${safeName(l.name)}.png`);
}

export function activationsCommand(): Command {
  const cmd = new Command('activations')
    .description("show a layer's feature maps for an image, one tile per channel, as a PNG grid")
    .argument('<image>', "image file (JPEG, PNG, WebP, GIF, TIFF, AVIF), or '-' for stdin")
    .option('-l, --layer <spec>', "layer index (-1 = last), name, list '1,5,conv2', range '3-7', or 'all' (default: the first convolution)")
    .option('-o, --output <path>', "PNG file, folder ending in '/' (one file per layer), or '-' for stdout (default: <image>.<layer>.png)")
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--size <px>', 'input side for models that take any size (default: the image size, at most 512)', intOption('--size', 8, 4096))
    .option('--tile-size <px>', 'enlarge small maps (nearest neighbour) to at least this many pixels', intOption('--tile-size', 1, 1024), 64)
    .addOption(new Option('--scale <mode>', 'layer: one colour range for all tiles; channel: each tile stretched').default('layer').argParser(choiceOption('--scale', ['layer', 'channel'] as const)))
    .addOption(new Option('--cmap <name>', `colormap: ${COLORMAPS.join('|')}`).default('viridis').argParser(choiceOption('--cmap', COLORMAPS)))
    .option('--channels <list>', "channels to show, e.g. '0-31' or '3,7' (default: all)")
    .option('--top <n>', 'show only the n channels with the highest mean activation (default: all)', intOption('--top', 1))
    .option('--json', 'print per-layer shape, per-channel min/max/mean and output path as JSON on stdout', false)
    .action(async (image: string, opts: ActivationsOptions) => {
      if (opts.channels && opts.top) throw new UsageError('--channels and --top both choose tiles: give one of them');
      const loaded = await openModel(opts);
      const layers = loaded.graph.layers;
      const firstConv = layers.find((l) => l.isConv)?.index ?? layers.length - 1;
      const indices = resolveLayers(opts.layer ?? firstConv, layers);
      const targets = outputPaths(opts.output, image, indices.map((i) => layers[i]));
      if (opts.output === '-' && opts.json) throw new UsageError("-o - and --json both want stdout: write the PNG to a file with -o");

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
      const pngs = await Promise.all(
        results.map((r) => encodePng(renderFeatureGrid(r.act.maps, { channels: r.channels, scale: opts.scale, cmap: opts.cmap, tileSize: opts.tileSize }))),
      );
      for (let j = 0; j < results.length; j++) await writeOutput(results[j].path, pngs[j]);
      ui.debug(`total: ${Date.now() - t0} ms`);

      const predictions = final ? topPredictions(final, loaded.meta.labels, 5) : undefined;
      final?.dispose();
      if (predictions && !opts.json) {
        ui.info(`top-5: ${predictions.map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(', ')}`);
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
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz activations examples/cat.jpg --layer 25',
    'cnnviz activations photo.jpg --layer all -o out/',
    'cnnviz activations photo.jpg --layer conv2d_1 --top 16 --scale channel --cmap magma',
    'cat photo.png | cnnviz activations - --layer 3 -o - > maps.png',
    'cnnviz activations photo.jpg --layer 1 --fit contain --channels 0-7 --tile-size 128',
    "cnnviz activations photo.jpg -m mobilenet/ --input-range -1,1 --layer 5-7 -o out/ --json | jq '.layers[].shape'",
  ]);
}

