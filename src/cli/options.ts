import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { BACKEND_CHOICES, type BackendName } from '../backend/choices.js';
import { type LoadedModel } from '../model/load.js';
import { type LayerInfo } from '../model/layers.js';
import { parseInputRange } from '../model/meta.js';
import { readLabelsFile, withLabels } from '../model/labels.js';
import { ui } from './ui.js';

/** Parsers that turn a bad flag value into a one-line usage error naming it. */
export function intOption(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      const bounds = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
      throw new UsageError(`bad ${flag} '${value}': expected ${bounds}`);
    }
    return n;
  };
}

export function floatOption(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`bad ${flag} '${value}': expected a number${Number.isFinite(min) ? ` >= ${min}` : ''}${Number.isFinite(max) ? ` and <= ${max}` : ''}`);
    }
    return n;
  };
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    const v = value.toLowerCase() as T;
    if (!choices.includes(v)) throw new UsageError(`bad ${flag} '${value}': choose one of ${choices.join(', ')}`);
    return v;
  };
}

export interface CommonOptions {
  model?: string;
  inputRange?: string;
  backend?: string;
  verbose?: boolean;
  json?: boolean;
}

/** --backend and --verbose, which every command that computes takes. */
export function addBackendOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}, also from env CNNVIZ_BACKEND (default: auto: tensorflow if installed, else wasm, else cpu)`))
    .option('--verbose', 'print the chosen backend and timings; stack traces on errors', false);
}

/** -m/--model and --input-range for commands that read a model. */
export function addModelOptions(cmd: Command): Command {
  cmd
    .option('-m, --model <path>', 'TF.js model.json (layers or graph model) or its folder, or a Keras .h5/.keras file (default: the bundled models/catsdogs)')
    .option('--input-range <lo,hi>', 'pixel range the model expects, e.g. 0,1 or -1,1 (default: cnnviz.json, else guessed, else 0,1)');
  return addBackendOptions(cmd);
}

export async function startBackend(opts: CommonOptions): Promise<BackendName> {
  ui.verbose = !!opts.verbose;
  // tfjs and its backends load here, not with this module: every command imports these options,
  // and some (examples --index, the tutorial commands) never need a tensor.
  const { initBackend } = await import('../backend/select.js');
  const name = await initBackend(opts.backend);
  ui.debug(`backend: ${name}`);
  return name;
}

/** Start the backend, then load the model the options name (or the bundled default). */
export async function openModel(opts: CommonOptions): Promise<LoadedModel> {
  await startBackend(opts);
  const t0 = Date.now();
  const { loadModel } = await import('../model/load.js');
  const loaded = await loadModel(opts.model, { inputRange: opts.inputRange ? parseInputRange(opts.inputRange) : undefined });
  ui.debug(`model: ${loaded.source} (${loaded.graph.layers.length} layers, loaded in ${Date.now() - t0} ms)`);
  return loaded;
}

/**
 * The layer a command shows when --layer is not given: the first convolution (the layer a
 * newcomer expects to see: edges and colours), or the last layer of a model without one.
 */
export function defaultLayer(layers: readonly LayerInfo[]): number {
  return layers.find((l) => l.isConv)?.index ?? layers.length - 1;
}

/** Layer names become file names: nested `outer/inner` must not become folders. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** `-o -` and `--json` both write to stdout; checked before any work, so the clash costs nothing. */
export function checkStdout(opts: { output?: string; json?: boolean }): void {
  if (opts.output === '-' && opts.json) throw new UsageError('-o - and --json both want stdout: write the PNG to a file with -o');
}

/** Help text lines shown under "Examples:" for a subcommand. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/** The image formats an `<image>` argument takes, for its help text. */
export const IMAGE_FORMATS = 'JPEG, PNG, WebP, GIF (first frame only), TIFF, AVIF';

export interface LabelsOptions {
  labels?: string;
}

/** --labels for every command that prints or takes class names. */
export function addLabelsOption(cmd: Command): Command {
  return cmd.option(
    '--labels <file>',
    "class names, one per line, or a JSON array or {index: label} object; replaces the model's own (default: the model's cnnviz.json, metadata.json, labels.txt or class_names.txt)",
  );
}

/** openModel, with --labels (read first, so a bad file fails before the model loads) in place of the model's labels. */
export async function openModelWithLabels(opts: CommonOptions & LabelsOptions): Promise<LoadedModel> {
  const labels = opts.labels !== undefined ? await readLabelsFile(opts.labels) : undefined;
  const loaded = await openModel(opts);
  return labels ? withLabels(loaded, labels, opts.labels!) : loaded;
}

/** --size only sizes models that take any size; on a fixed-size model say so instead of ignoring it silently. */
export function warnIfSizeIgnored(loaded: LoadedModel, size: number | undefined): void {
  const [h, w] = loaded.inputShape;
  if (size !== undefined && h != null && w != null && (size !== h || size !== w)) ui.warn(`--size ${size} ignored: this model takes fixed ${w}x${h} input`);
}

/** --max-pixels for every command that reads images: the header check in decodeImage. */
export function addMaxPixelsOption(cmd: Command): Command {
  return cmd.option('--max-pixels <megapixels>', 'refuse images larger than this many megapixels, checked before decoding, e.g. --max-pixels 300', intOption('--max-pixels', 1, 1_000_000), 100);
}
