import { UsageError } from '../../errors.js';
import { resolveLayer } from '../../model/address.js';
import { type LayerInfo } from '../../model/layers.js';
import { type LoadedModel } from '../../model/load.js';
import { channelRead } from '../flat.js';
import { logitsSource } from '../logits.js';
import { resolveClass } from '../setup.js';
import { caricature } from './caricature.js';
import { alignment, diversity } from './group.js';
import { type Objective, type ObjectiveEnv } from './objective.js';
import { type ArgValue } from './parse.js';
import { l1, l2, tv } from './penalties.js';
import { channel, channelInterpolate, deepdream, direction, logit, neuron, type Units } from './units.js';
import tf = require('@tensorflow/tfjs');

/**
 * One call of an `--objective` expression checked against the model: its layers resolved,
 * its numbers range-checked, its text with layer names. Building the objective is a separate
 * step, so every usage error of the whole expression comes before any tensor is made.
 */

export interface BindContext {
  /** Per picture: the unit `unit` stands for (the CLI's --filter/--filters, repeated for --diversity). */
  units?: readonly number[];
  /** How photo-based objectives (caricature) get a photo's activations. */
  env?: ObjectiveEnv;
  /** The --from photo, [1, h, w, c] in [0, 1], for caricature(...). */
  photo?: tf.Tensor4D;
  /** The --direction / --direction-from vector, for direction(...). */
  direction?: readonly number[];
  /** Pixels of a channel's grid border left out (the Keras baseline). */
  border?: number;
}

/** A place where `unit` stands: how many units it offers, and what offers them, for messages. */
export interface UnitUse {
  /** Undefined when the layer's channel count depends on the input (rare: graph models). */
  count?: number;
  owner: string;
  /** "channels" or "classes". */
  what: string;
}

export interface ResolvedCall {
  text: string;
  /** Layers the call reads, as named by the user (logit: the layer the class scores come from). */
  layers: number[];
  unitUse?: UnitUse;
  /** A line for the user when a read is not what it seems (flat.ts). */
  note?: string;
  /** Throws a usage error when the context lacks what the call needs (a photo, a vector). */
  check?(ctx: BindContext): void;
  build(ctx: BindContext, units: Units | undefined): Objective;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/** A layer name as an expression writes it: bare when it reads back as one name, else quoted. */
const nameText = (name: string): string => (NAME.test(name) ? name : name.includes("'") ? `"${name}"` : `'${name}'`);

function layerOf(loaded: LoadedModel, v: ArgValue): LayerInfo {
  const layers = loaded.graph.layers;
  const spec = v.kind === 'number' ? String(v.value) : v.kind === 'position' ? `${v.x}:${v.y}` : v.text;
  return layers[resolveLayer(spec, layers)];
}

/** Units a layer offers: channels on a grid, else every value of its output. */
function channelsOf(info: LayerInfo): number | undefined {
  const dims = info.outputShape.slice(1);
  if (dims.length === 3) return dims[2] ?? undefined;
  return dims.every((d): d is number => d != null) ? dims.reduce((a, d) => a * d, 1) : undefined;
}

const isUnit = (v: ArgValue): boolean => v.kind === 'name' && v.text === 'unit';

/** A channel number checked against the layer, or `unit`'s use of it. */
function channelArg(v: ArgValue, info: LayerInfo): { text: string; fixed?: number; use?: UnitUse } {
  const count = channelsOf(info);
  if (isUnit(v)) return { text: 'unit', use: { count, owner: `layer ${info.name}`, what: 'channels' } };
  const n = (v as { value: number }).value;
  if (count !== undefined && n >= count) throw new UsageError(`channel ${n} out of range: layer ${info.name} has ${count} channels (0-${count - 1})`);
  return { text: String(n), fixed: n };
}

const unitsFor = (arg: { fixed?: number }, units: Units | undefined): Units => arg.fixed ?? units!;

export function resolveCall(loaded: LoadedModel, name: string, args: Record<string, ArgValue>): ResolvedCall {
  const layerArg = (key = 'layer') => layerOf(loaded, args[key]);
  const num = (key: string, fallback: number) => (args[key] ? (args[key] as { value: number }).value : fallback);
  switch (name) {
    case 'channel': {
      const info = layerArg();
      const n = channelArg(args.n, info);
      const how = channelRead(loaded, info.index);
      return {
        text: `channel(${nameText(info.name)}, ${n.text})`,
        layers: [info.index],
        unitUse: n.use,
        note: how.note,
        build: (ctx, units) => channel(how.read, unitsFor(n, units), { border: ctx.border, relu: how.relu }),
      };
    }
    case 'neuron': {
      const info = layerArg();
      const n = channelArg(args.n, info);
      const at = args.at as (ArgValue & { kind: 'position' }) | undefined;
      if (at) checkPosition(info, at.x, at.y);
      return {
        text: `neuron(${nameText(info.name)}, ${n.text}${at ? `, at=${at.x}:${at.y}` : ''})`,
        layers: [info.index],
        unitUse: n.use,
        build: (_ctx, units) => neuron({ layer: info.index }, unitsFor(n, units), at ? [at.x, at.y] : undefined),
      };
    }
    case 'logit': {
      const source = logitsSource(loaded);
      const v = args.class;
      const layers = [source.layer ?? loaded.graph.layers.length - 1];
      if (isUnit(v)) {
        return { text: 'logit(unit)', layers, unitUse: { count: source.classes, owner: 'the model', what: 'classes' }, build: (_ctx, units) => logit(units!) };
      }
      const spec = v.kind === 'number' ? String(v.value) : (v as { text: string }).text;
      const cls = resolveClass(spec, loaded.meta.labels, source.classes);
      return { text: `logit(${cls})`, layers, build: () => logit(cls) };
    }
    case 'direction': {
      const info = layerArg();
      const count = channelsOf(info);
      return {
        text: `direction(${nameText(info.name)})`,
        layers: [info.index],
        check: (ctx) => {
          if (!ctx.direction) throw new UsageError('direction(...) needs --direction <file> or --direction-from a.jpg,b.jpg');
          if (count !== undefined && ctx.direction.length !== count) {
            throw new UsageError(`the direction has ${ctx.direction.length} numbers but layer ${info.name} has ${count} channels: give one number per channel`);
          }
        },
        build: (ctx) => direction({ layer: info.index }, ctx.direction!),
      };
    }
    case 'channel_interpolate': {
      const [a, b] = [layerArg('layerA'), layerArg('layerB')];
      const [ca, cb] = [channelArg(args.a, a), channelArg(args.b, b)];
      const pictures = num('n', 6);
      return {
        text: `channel_interpolate(${nameText(a.name)}, ${ca.text}, ${nameText(b.name)}, ${cb.text}${pictures === 6 ? '' : `, n=${pictures}`})`,
        layers: a.index === b.index ? [a.index] : [a.index, b.index],
        build: () => channelInterpolate({ layer: a.index }, ca.fixed!, { layer: b.index }, cb.fixed!, pictures),
      };
    }
    case 'diversity': {
      const info = layerArg();
      const keep = num('keep', 0);
      if (!(keep >= 0 && keep <= 0.9)) throw new UsageError(`diversity keep=${keep} out of range: a share of the best score in the picture's group, 0 (no guard) to 0.9`);
      return { text: `diversity(${nameText(info.name)}${keep ? `, keep=${keep}` : ''})`, layers: [info.index], build: () => diversity({ layer: info.index }, keep) };
    }
    case 'deepdream': {
      const info = layerArg();
      return { text: `deepdream(${nameText(info.name)})`, layers: [info.index], build: () => deepdream({ layer: info.index }) };
    }
    case 'alignment': {
      const info = layerArg();
      const decay = num('decay', 2);
      return { text: `alignment(${nameText(info.name)}${decay === 2 ? '' : `, decay=${decay}`})`, layers: [info.index], build: () => alignment({ layer: info.index }, decay) };
    }
    case 'tv':
      return { text: 'tv', layers: [], build: () => tv() };
    case 'l1':
    case 'l2': {
      const on = args.on && !(args.on.kind === 'name' && args.on.text === 'input') ? layerArg('on') : undefined;
      const c = num('c', 0);
      const parts = [...(on ? [nameText(on.name)] : []), ...(c ? [`c=${c}`] : [])];
      const make = name === 'l1' ? l1 : l2;
      return {
        text: parts.length ? `${name}(${parts.join(', ')})` : name,
        layers: on ? [on.index] : [],
        build: () => make(c, on ? { layer: on.index } : undefined),
      };
    }
    case 'caricature': {
      const info = layerArg();
      const cossim = num('cossim', 0);
      return {
        text: `caricature(${nameText(info.name)}${cossim ? `, cossim=${cossim}` : ''})`,
        layers: [info.index],
        check: (ctx) => {
          if (!ctx.photo) throw new UsageError('caricature(...) needs --from <photo>');
          if (!ctx.env) throw new Error('bindObjective: caricature(...) needs ctx.env to compute the photo activations');
        },
        build: (ctx) => caricature({ layer: info.index }, ctx.env!, ctx.photo!, cossim),
      };
    }
    default:
      // parse.ts only lets through names in signatures.ts: one without a case here is a bug.
      throw new Error(`objective function '${name}' has a signature but no binding`);
  }
}

/** A neuron position in the layer's grid at the model's input size (as `cnnviz layers` shows it). */
function checkPosition(info: LayerInfo, x: number, y: number): void {
  const shape = info.outputShape;
  if (shape.length !== 4) {
    throw new UsageError(`neuron at=${x}:${y} needs a layer with a grid, but ${info.name} has output [${shape.slice(1).join(', ')}]: leave out at=`);
  }
  const [, h, w] = shape;
  if (h == null || w == null) return; // the grid follows the picture's size: nothing to check against
  if (x >= w || y >= h) throw new UsageError(`position ${x}:${y} out of range: layer ${info.name} has a ${w}x${h} grid at the model's input size (x 0-${w - 1}, y 0-${h - 1})`);
}
