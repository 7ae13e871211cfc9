import { type LoadedModel } from '../model/load.js';
import { shorthandExpression } from '../dream/objectives/bind.js';
import { diversityExpression } from '../dream/objectives/group.js';
import { DEFAULTS, type DreamSettings } from '../dream/render.js';
import { dreamSize, modelInput, renderScaleFor } from '../dream/setup.js';
import { type BatchSpec } from '../dream/batch.js';
import { stableHash, type Shard } from '../dataset-index/files.js';

/** Units per dream run: `cnnviz dream`'s default --batch, so one printed command repeats a run exactly. */
export const DREAM_GROUP = 8;
/** Pictures in a unit page's diversity row. */
export const DIVERSITY_COPIES = 3;

export type DreamKind = 'dream' | 'neg' | 'div';
export const DREAM_KINDS: readonly DreamKind[] = ['dream', 'neg', 'div'];

/** One `cnnviz dream` run of the report: a kind of picture for a group of units of a layer. */
export interface DreamJob {
  layer: { index: number; name: string; dir: string };
  kind: DreamKind;
  units: number[];
  spec: BatchSpec;
  /** The cnnviz command that paints the same pictures, byte for byte, into its --out-dir. */
  command: string;
  /** Per picture: the site file (relative to the site) and the file the command writes. */
  files: { unit: number; copy: number; site: string; commandFile: string }[];
}

/** Units are dreamed in groups of DREAM_GROUP consecutive (selected) units: a dream's bytes depend on its batch mates. */
export function unitGroups(units: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < units.length; i += DREAM_GROUP) out.push(units.slice(i, i + DREAM_GROUP));
  return out;
}

/** Is this group in shard k of n? By the layer's name and the group's first unit, so every machine agrees. */
export function groupInShard(layerName: string, group: number[], shard?: Shard): boolean {
  return !shard || stableHash(`${layerName}:${group[0]}`) % shard.n === shard.k - 1;
}

/** `0-7` for a run, `1,5,9` otherwise: as --filters reads it. */
export function unitList(units: number[]): string {
  const run = units.every((u, i) => i === 0 || u === units[i - 1] + 1);
  return run && units.length > 1 ? `${units[0]}-${units[units.length - 1]}` : units.join(',');
}

const shellWord = (s: string) => (/^[A-Za-z0-9_./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The three dream runs of a group (the dream, the negative dream, the diversity row), with the
 * same settings `cnnviz dream` uses for its flags, and the command that repeats each.
 */
export function dreamJobs(loaded: LoadedModel, layer: { index: number; name: string; dir: string }, units: number[], o: { steps: number; seed: number; model?: string }): DreamJob[] {
  const settings: DreamSettings = { ...DEFAULTS, steps: o.steps, seed: o.seed, size: dreamSize(modelInput(loaded)), renderScale: renderScaleFor(loaded, [layer.index]) };
  const safe = layer.name.replace(/[^A-Za-z0-9._-]+/g, '_');
  const base = ['cnnviz', 'dream', ...(o.model ? ['-m', o.model] : []), '--layer', layer.name, '--filters', unitList(units), '--steps', String(o.steps), '--seed', String(o.seed)];
  const outDir = `dreams-${safe}`;
  return DREAM_KINDS.map((kind) => {
    const channel = shorthandExpression({ objective: 'channel', layer: layer.index, minimize: kind === 'neg' });
    const expression = kind === 'div' ? diversityExpression(channel, layer.index) : channel;
    const copies = kind === 'div' ? DIVERSITY_COPIES : 1;
    const flags = kind === 'neg' ? ['--minimize'] : kind === 'div' ? ['--diversity', String(DIVERSITY_COPIES)] : [];
    const command = [...base, ...flags, '--out-dir', outDir, '-o', `${outDir}.${kind}.png`].map(shellWord).join(' ');
    const files = units.flatMap((unit) =>
      Array.from({ length: copies }, (_, copy) => ({
        unit,
        copy,
        site: `layers/${layer.dir}/${unit}.${kind}${kind === 'div' ? copy : ''}.png`,
        commandFile: `${outDir}/dream.${safe}.${unit}${kind === 'neg' ? '.neg' : ''}${kind === 'div' ? `.${copy}` : ''}.png`,
      })),
    );
    return { layer, kind, units, spec: { objective: { expression }, units, copies, settings }, command, files };
  });
}
