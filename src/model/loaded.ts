import tf = require('@tensorflow/tfjs');
import { reasonOf, RuntimeError, UsageError } from '../errors.js';
import { flattenModel, type FlatGraph } from './layers.js';
import { type InputRange, type ModelMeta } from './meta.js';

// What every model format builds (the LoadedModel) and how, apart from load.ts's choice of
// format, so the format loaders (graph.ts, keras/) need not import load.ts, which imports them.

export interface LoadedModel {
  /** 'graph' for TF.js graph models (see graph.ts); absent or 'layers' for layers models. */
  kind?: 'layers' | 'graph';
  /**
   * The network as a LayersModel. For graph models this is a wrapper whose layers run
   * `graphModel` (predict and gradients work; per-layer weights don't exist).
   */
  model: tf.LayersModel;
  /** The TF.js graph model itself, when kind is 'graph'. */
  graphModel?: tf.GraphModel;
  /** The GraphDef's nodes, when kind is 'graph': the wiring `graph` leaves out (dream walks it back from the output). */
  graphNodes?: { name: string; op: string; input?: string[]; attr?: Record<string, unknown> }[];
  graph: FlatGraph;
  meta: ModelMeta;
  /** The model file that was read. */
  source: string;
  /** [height, width, channels]; height/width null when the model takes any size. */
  inputShape: [number | null, number | null, number];
}

export interface LoadOptions {
  /** Overrides every other source of the input range (the --input-range flag). */
  inputRange?: InputRange;
}

/**
 * Run a tfjs model build with its console chatter muted: warnings about harmless config quirks
 * (a stray batch_input_shape) and the greeting the first cpu tensor prints would corrupt
 * `-o -` and `--json` output. Its errors become one line after `what`, as usage errors: what
 * fails to build is the file the user gave.
 */
export async function buildQuietly<T>(what: string, build: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await build();
  } catch (err) {
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    // What fails here is the file's content (a config tfjs cannot build): a bad input file, exit 2.
    throw new UsageError(`${what}: ${reasonOf(err)}`);
  } finally {
    console.warn = warn;
  }
}

/** Wrap an in-memory LayersModel (library users, tests, the Keras loaders) the same way. */
export function fromLayersModel(model: tf.LayersModel, source: string, meta: ModelMeta, opts: LoadOptions = {}): LoadedModel {
  if (opts.inputRange) meta = { ...meta, inputRange: opts.inputRange, inputRangeSource: 'flag' };
  if (model.inputs.length !== 1) {
    throw new UsageError(`model ${source} has ${model.inputs.length} inputs: cnnviz visualizes single-image models`);
  }
  const shape = model.inputs[0].shape;
  const dtype: unknown = model.inputs[0].dtype;
  // A damaged config can give the input a dtype tfjs accepts at build time but cannot feed.
  if (typeof dtype !== 'string' || !['float32', 'int32', 'bool'].includes(dtype)) {
    throw new UsageError(`model ${source} takes input of dtype ${JSON.stringify(dtype)?.slice(0, 40)}: cnnviz feeds images as float32 (corrupt config?)`);
  }
  if (shape.length !== 4) {
    throw new UsageError(`model ${source} takes input of shape [${shape.map((d) => d ?? '?').join(', ')}]: cnnviz needs an image input [batch, height, width, channels]`);
  }
  const channels = shape[3];
  if (channels == null) throw new UsageError(`model ${source} has no fixed channel count`);
  // Re-applying a nested Sequential's layers (flattenModel) makes tfjs warn about the input
  // shapes their configs recorded; the shapes are right, and the chatter would corrupt -o -.
  const warn = console.warn;
  console.warn = () => {};
  let graph: ReturnType<typeof flattenModel>;
  try {
    graph = flattenModel(model);
  } finally {
    console.warn = warn;
  }
  return { model, graph, meta, source, inputShape: [shape[1], shape[2], channels] };
}
