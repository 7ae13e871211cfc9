import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable, encodePng, FITS, writeOutput, type Fit } from '../image/io.js';
import { listInputs } from '../dataset-index/files.js';
import { readManifest } from '../dataset-index/format.js';
import { findIndexLayer, indexInMemory, openIndex, type DatasetIndex } from '../dataset-index/query.js';
import { cropBox, exampleLabel, labelTile, resizeTile } from '../examples/crop.js';
import { findExamples, layerFieldFor, recordedField, type Example } from '../examples/find.js';
import { examplesSheet } from '../examples/sheet.js';
import { resolveIndexList, resolveLayer } from '../model/address.js';
import { type NominalField } from '../model/receptive-field.js';
import { addBackendOptions, checkStdout, examples, intOption, openModel, safeName, type CommonOptions } from './options.js';
import { progressBar, ui } from './ui.js';
import { type Raster } from '../image/raster.js';

interface ExamplesOptions extends CommonOptions {
  layer: string;
  filter?: string;
  filters?: string;
  index?: string;
  top: number;
  bottom: boolean;
  withDream?: boolean | string;
  json: boolean;
  output?: string;
  tile: number;
  fit: Fit;
  seed: number;
  steps?: number;
  workers?: number;
}

/** `examples.<layer>.<filters>[.bottom].png`, in the manner of dream's default names. */
function defaultName(layer: string, filters: number[], bottom: boolean): string {
  const contiguous = filters.every((f, i) => i === 0 || f === filters[i - 1] + 1);
  const list = filters.length === 1 ? `${filters[0]}` : contiguous ? `${filters[0]}-${filters[filters.length - 1]}` : filters.length <= 8 ? filters.join('_') : `${filters[0]}_${filters[filters.length - 1]}.${filters.length}-filters`;
  return `examples.${safeName(layer)}.${list}${bottom ? '.bottom' : ''}.png`;
}

export function examplesCommand(): Command {
  const cmd = new Command('examples')
    .description("the photos that excite a filter most (or least), each cropped to the unit's receptive field around its strongest position, optionally beside the filter's dream")
    .argument('[photos...]', 'folders or image files to rank on the fly (instead of --index)')
    .requiredOption('-l, --layer <layer>', 'the layer: index or name (as `cnnviz layers` lists it)')
    .option('-f, --filter <n>', 'the filter (channel) to show', '0')
    .option('--filters <list>', "several filters, one row each: '0-15', '1,5,9' or 'all'")
    .option('-i, --index <folder>', 'rank from an index built by `cnnviz index` (fast; the model defaults to the one it was built with)')
    .option('-k, --top <k>', 'photos per filter', intOption('--top', 1, 1000), 9)
    .option('--bottom', 'the least exciting photos instead (ranked by their minimum)', false)
    .option('--with-dream [folder]', "start each row with the filter's dream: painted now with `dream`'s defaults, or read from a folder of `cnnviz dream` outputs (dream.<layer>.<filter>.png)")
    .option('--json', 'print file, activation, position and crop box per example on stdout (no PNG unless -o)', false)
    .option('-o, --output <file>', 'output PNG, - for stdout (default: examples.<layer>.<filters>.png)')
    .option('--tile <px>', 'side of each crop', intOption('--tile', 16, 1024), 96)
    .addOption(new Option('--fit <mode>', `without --index: how a photo meets the model's input size: ${FITS.join('|')}`).default('cover').argParser((v: string) => {
      if (!(FITS as readonly string[]).includes(v)) throw new UsageError(`bad --fit '${v}': expected ${FITS.join(', ')}`);
      return v;
    }))
    .option('--seed <n>', 'seed of the dreams painted for --with-dream', intOption('--seed', 0, 2 ** 31 - 1), 0)
    .option('--steps <n>', "steps of the dreams painted for --with-dream (default: dream's 512)", intOption('--steps', 1, 100000))
    .option('--workers <n>', 'worker threads for dreams and on-the-fly ranking (default: one per core)', intOption('--workers', 1, 256))
    .option('-m, --model <path>', 'the model (default: the index\'s own; without --index, the bundled models/catsdogs)')
    .option('--input-range <lo,hi>', 'pixel range the model expects, e.g. 0,1 or -1,1')
    .action(async (photos: string[], opts: ExamplesOptions) => {
      checkStdout(opts);
      if (opts.index && photos.length) throw new UsageError(`give photos or --index, not both (got --index ${opts.index} and ${photos[0]})`);
      if (!opts.index && photos.length === 0) throw new UsageError('no photos to rank: give --index <folder> (from cnnviz index) or folders/image files');
      if (opts.filters && cmd.getOptionValueSource('filter') === 'cli') throw new UsageError('--filter and --filters both name filters: give one of them');
      const t0 = Date.now();
      const manifest = opts.index ? await readManifest(opts.index) : undefined;
      if (opts.index && !manifest) throw new UsageError(`not an index: ${opts.index} has no manifest.json (build one with cnnviz index <photos> -o ${opts.index})`);
      const model = opts.model ?? manifest?.model.path;
      // From an index, only a dream painted now runs the model. An index that records the layer's
      // receptive field (format version 2) needs no model at all: no tfjs, no weights, just the
      // arrays. An older one builds the model from its topology for the field.
      const paints = opts.withDream === true;
      ui.verbose = !!opts.verbose;
      const at = manifest && !paints && !opts.model ? findIndexLayer(manifest.layers, opts.layer) : -1;
      const recorded = at >= 0 ? recordedField(manifest!.layers[at]) : undefined;
      let layer: { name: string; channels: number };
      let field: NominalField | undefined;
      let loaded: Awaited<ReturnType<typeof openModel>> | undefined;
      let layerIndex = -1;
      if (recorded) {
        layer = manifest!.layers[at];
        field = recorded;
      } else {
        const { loadModelStructure } = await import('../model/structure.js');
        loaded = opts.index && !paints ? await loadModelStructure(model) : await openModel({ ...opts, model });
        ui.debug(`model ready in ${Date.now() - t0} ms`);
        const layers = loaded.graph.layers;
        layerIndex = resolveLayer(opts.layer, layers);
        const info = layers[layerIndex];
        if (info.outputShape.length !== 4) throw new UsageError(`examples needs a layer with height, width and channel axes, but ${info.name} has output [${info.outputShape.slice(1).join(', ')}]`);
        layer = { name: info.name, channels: info.outputShape[3]! };
      }
      const filters = resolveIndexList(opts.filters ?? opts.filter ?? '0', layer.channels, 'filter', `layer ${layer.name}`);
      const dreamDir = typeof opts.withDream === 'string' ? opts.withDream : undefined;
      const output = opts.output ?? (opts.json ? undefined : defaultName(layer.name, filters, opts.bottom));
      if (output) checkOutputWritable(output);

      let index: DatasetIndex;
      if (opts.index) {
        // Only this layer's arrays are read (the index's own message names the layers it holds).
        const inIndex = manifest!.layers[findIndexLayer(manifest!.layers, layer.name)]?.name;
        index = await openIndex(opts.index, inIndex ? { layers: [inIndex] } : {});
        index.layer(layer.name);
      } else {
        const files = (await listInputs(photos)).map((f) => f.abs);
        const bar = progressBar(files.length, '{bar} {value}/{total} photos | ETA {eta_formatted}', {});
        try {
          index = await indexInMemory(loaded!, files, [String(layerIndex)], { fit: opts.fit, workers: opts.workers, onProgress: (done) => bar.update(done), onFailed: (file, err) => ui.warn(`skipped ${file}: ${(err as Error)?.message ?? err}`) });
        } finally {
          bar.stop();
        }
      }
      ui.debug(`ranking source ready in ${Date.now() - t0} ms`);
      const rows = await findExamples(index, layer.name, field ?? layerFieldFor(loaded!, layerIndex, index.input), filters, { k: opts.top, bottom: opts.bottom });
      if (rows.every((r) => r.length === 0)) throw new UsageError(`no photos to rank: ${opts.index ? `index ${opts.index}` : photos.join(' ')} holds no readable photo`);

      if (opts.json) ui.json(rows.flat().map(jsonRow));
      if (!output) return;
      let dreams: Raster[] | undefined;
      // The dream modules load only when a row starts with a dream.
      const { paintDreams, readDreams } = opts.withDream ? await import('../examples/dreams.js') : ({} as typeof import('../examples/dreams.js'));
      if (dreamDir) dreams = await readDreams(dreamDir, layer.name, filters);
      else if (opts.withDream) {
        const bar = progressBar(opts.steps ?? 512, '{bar} dream step {value}/{total} | ETA {eta_formatted}', {});
        try {
          dreams = await paintDreams(loaded!, layerIndex, filters, { seed: opts.seed, steps: opts.steps, workers: opts.workers }, (p) => bar.update(Math.floor(p.done)));
        } finally {
          bar.stop();
        }
      }
      const tiles = await Promise.all(
        rows.map(async (row, r) => {
          // Without a dream to head it, the row's first label says which filter it is.
          const label = (e: Example, i: number) => {
            const [value, name] = exampleLabel(e.value, e.file);
            return [!dreams && i === 0 && filters.length > 1 ? `f${e.filter}: ${value}` : value, name];
          };
          const crops = await Promise.all(row.map(async (e, i) => labelTile(await cropBox(e.file, e.fieldBox, e.photo, opts.tile), label(e, i))));
          const head = dreams ? [labelTile(await resizeTile(dreams[r], opts.tile), [`filter ${filters[r]}`, 'dream'])] : [];
          return [...head, ...crops];
        }),
      );
      await writeOutput(output, await encodePng(examplesSheet(tiles)));
      ui.debug(`done in ${Date.now() - t0} ms`);
      if (output !== '-') ui.info(`wrote ${output} (${filters.length} filter${filters.length > 1 ? 's' : ''} x ${opts.top}${opts.bottom ? ', least exciting' : ''})`);
    });
  addBackendOptions(cmd);
  return examples(cmd, [
    'cnnviz examples examples/ --layer conv_pw_7_relu --filter 3          # no index: ranks the photos on the fly',
    'cnnviz examples examples/ --layer conv_pw_7_relu --filters 0-3 --bottom --json',
    'cnnviz index photos/ -o photos.idx && cnnviz examples --index photos.idx --layer conv_pw_7_relu --filters 0-7 --with-dream',
  ]);
}

function jsonRow(e: Example) {
  const box = (b: { top: number; left: number; bottom: number; right: number }) => ({ x: b.left, y: b.top, width: b.right - b.left + 1, height: b.bottom - b.top + 1 });
  return { filter: e.filter, rank: e.rank, file: e.file, activation: e.value, position: { y: e.y, x: e.x }, crop: box(e.cropBox), field: box(e.fieldBox), inputField: box(e.inputBox) };
}
