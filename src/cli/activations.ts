import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { FITS, checkOutputWritable, writeOutput, type Fit } from '../image/io.js';
import { COLORMAPS } from '../image/colormap.js';
import { type ChannelStats, type ScaleMode } from '../image/feature-grid.js';
import { createGridPngRenderer } from '../image/grid-pool.js';
import { resolveIndexList, resolveLayers } from '../model/address.js';
import { checkActivationsMemory } from '../model/memory.js';
import { isClassifier, loadModelInput, topPredictions, type LayerActivation } from '../model/probe.js';
import { forEachLayerActivation } from '../model/staged-forward.js';
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
 * Grids being drawn, encoded and written, at most `limit` at a time: `add` waits for a free
 * lane, and the first failure is thrown by the next `add` or by `drain`. A whole network's grids
 * at once are hundreds of megabytes, so only a few are held; while they are drawn and encoded
 * elsewhere, this thread goes on with the forward pass.
 */
function writeLanes(limit: number) {
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  return {
    async add(job: Promise<void>): Promise<void> {
      const tracked: Promise<void> = job.then(
        () => void inFlight.delete(tracked),
        (err: unknown) => {
          inFlight.delete(tracked);
          failure ??= { err };
        },
      );
      inFlight.add(tracked);
      if (inFlight.size >= limit) await Promise.race(inFlight);
      if (failure) throw failure.err;
    },
    async drain(): Promise<void> {
      await Promise.all(inFlight);
      if (failure) throw failure.err;
    },
  };
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
      // Checked before any file is written: the channel counts are known from the layer shapes.
      const chosen = indices.map((i) => {
        const count = layers[i].outputShape[layers[i].outputShape.length - 1];
        return opts.channels && typeof count === 'number' ? resolveIndexList(opts.channels, count, 'channel', `layer ${layers[i].name}`) : undefined;
      });
      const t0 = Date.now();
      const { tensor } = await loadModelInput(loaded, image, { fit: opts.fit, size: opts.size, maxMegapixels: opts.maxPixels });
      const results: Array<{ act: Omit<LayerActivation, 'maps'>; stats: ChannelStats[]; channels?: number[]; path: string }> = [];
      // One grid is drawn here; starting worker threads for it would cost more than it saves.
      const renderer = createGridPngRenderer(indices.length > 1 ? undefined : 0);
      // Several layers (a whole network's are hundreds of megapixels) are encoded at zlib level 1,
      // in about half of level 4's time for files about 40% larger; a single grid, the one people
      // put in a README, at level 4.
      const level = indices.length > 1 ? 1 : 4;
      const lanes = writeLanes(renderer.concurrency);
      let megapixels = 0;
      let final: Awaited<ReturnType<typeof forEachLayerActivation>>;
      try {
        final = await forEachLayerActivation(loaded, tensor, indices, isClassifier(loaded), async (act, j) => {
          const channels = opts.channels ? (chosen[j] ?? resolveIndexList(opts.channels, act.shape[act.shape.length - 1], 'channel', `layer ${act.name}`)) : undefined;
          const drawn = renderer.render({ maps: act.maps, options: { channels, scale: opts.scale, cmap: opts.cmap, tileSize: opts.tileSize }, top: opts.top, level });
          await lanes.add(
            drawn.then((r) => {
              results[j] = { act: { index: act.index, name: act.name, shape: act.shape }, stats: r.stats, channels: r.channels, path: targets[j] };
              megapixels += r.megapixels;
              return writeOutput(targets[j], r.png);
            }),
          );
        });
        await lanes.drain();
      } finally {
        tensor.dispose();
        await renderer.close();
      }
      ui.debug(`forward pass, grids (${megapixels.toFixed(0)} Mpx) and PNGs: ${Date.now() - t0} ms for ${indices.length} layer(s)`);

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

