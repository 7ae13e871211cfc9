/**
 * Default file names of dreams, apart from the dream modules (which load tfjs): `examples
 * --with-dream <folder>` looks dreams up by these names without painting any.
 */

/** Units in a file name: one index, `a-b` for a contiguous run, up to 8 joined by `_`, else first_last.N-filters. */
export function unitList(units: readonly number[]): string {
  const contiguous = units.every((u, i) => i === 0 || u === units[i - 1] + 1);
  return units.length === 1 ? `${units[0]}` : contiguous ? `${units[0]}-${units[units.length - 1]}` : units.length <= 8 ? units.join('_') : `${units[0]}_${units[units.length - 1]}.${units.length}-filters`;
}

export interface DreamNameParts {
  /** The layer's file-safe name, or 'logit'. */
  layer: string;
  units: number[];
  objective: 'channel' | 'neuron' | 'logit';
  /** The neuron's position (see neuronPosition); none for a target without a grid. */
  at?: [number, number] | 'centre';
  minimize: boolean;
}

/**
 * Default output name: `dream.<layer>.<units>[.neuron-x<X>y<Y>][.neg].png`. Units are one
 * index, `a-b` for a contiguous run (as in --filters a-b), or indices joined by `_`
 * (`1_3`: the filters 1 and 3, not a range); a long scattered list gives its ends and size
 * (`2_90.12-filters`). A plain channel dream keeps the short name; the others say their
 * objective, so a neuron or --minimize dream never overwrites the channel dream.
 */
export function dreamFileName(parts: DreamNameParts): string {
  const list = unitList(parts.units);
  const neuron = parts.objective === 'neuron' ? (Array.isArray(parts.at) ? `.neuron-x${parts.at[0]}y${parts.at[1]}` : parts.at ? '.neuron-centre' : '.neuron') : '';
  return `dream.${parts.layer}.${list}${neuron}${parts.minimize ? '.neg' : ''}.png`;
}

