/**
 * The functions an `--objective` expression can call, and what each argument takes. Pure data:
 * the parser checks calls against it (so an unknown name or a wrong argument is a parse error
 * with a column), the binder builds objectives from the checked arguments.
 */

/** What an argument's value may be. */
export type ParamKind =
  /** A layer: an index (negative from the end), a name, or a quoted name. */
  | 'layer'
  /** A layer, or `input` for the picture itself (l1, l2). */
  | 'layer-or-input'
  /** A channel/unit index, or `unit` (filled per picture from --filter/--filters). */
  | 'unit'
  /** A whole number >= 0 (channel_interpolate's channels). */
  | 'index'
  /** A class: an index, `unit`, or a label (bare or quoted). */
  | 'class'
  /** Any number. */
  | 'number'
  /** A whole number >= 1. */
  | 'count'
  /** A position `x:y` in a layer's grid. */
  | 'position';

export interface Param {
  name: string;
  kind: ParamKind;
  /** Present for optional parameters: the value when it is left out, as written. */
  default?: string;
}

export interface Signature {
  name: string;
  params: readonly Param[];
  /** What it maximizes, one line, for the docs and `--help`. */
  summary: string;
}

const layer: Param = { name: 'layer', kind: 'layer' };

export const SIGNATURES: readonly Signature[] = [
  { name: 'channel', params: [layer, { name: 'n', kind: 'unit' }], summary: "the mean of channel n over the layer's grid" },
  { name: 'neuron', params: [layer, { name: 'n', kind: 'unit' }, { name: 'at', kind: 'position', default: 'centre' }], summary: 'channel n at one position x:y of the grid' },
  { name: 'logit', params: [{ name: 'class', kind: 'class' }], summary: "a class's score before softmax/sigmoid" },
  { name: 'direction', params: [layer], summary: 'the mean dot product with a vector in the channel space (--direction, --direction-from)' },
  {
    name: 'channel_interpolate',
    params: [{ name: 'layerA', kind: 'layer' }, { name: 'a', kind: 'index' }, { name: 'layerB', kind: 'layer' }, { name: 'b', kind: 'index' }, { name: 'n', kind: 'count', default: '6' }],
    summary: 'a row of n pictures morphing from channel a to channel b',
  },
  {
    name: 'diversity',
    params: [layer, { name: 'keep', kind: 'number', default: '0' }],
    summary: "penalty: how alike the pictures of a group are (their Gram matrices' cosine); keep=k releases a picture whose score falls to k of its group's best",
  },
  { name: 'alignment', params: [layer, { name: 'decay', kind: 'number', default: '2' }], summary: "penalty: how far a picture's activations are from its row neighbours'" },
  { name: 'deepdream', params: [layer], summary: "the mean squared activation of the whole layer" },
  { name: 'tv', params: [], summary: 'penalty: total variation, the mean step between neighbouring pixels' },
  { name: 'l1', params: [{ name: 'on', kind: 'layer-or-input', default: 'input' }, { name: 'c', kind: 'number', default: '0' }], summary: 'penalty: the mean absolute difference from c' },
  { name: 'l2', params: [{ name: 'on', kind: 'layer-or-input', default: 'input' }, { name: 'c', kind: 'number', default: '0' }], summary: 'penalty: the root mean squared difference from c' },
  { name: 'caricature', params: [layer, { name: 'cossim', kind: 'number', default: '0' }], summary: "the dot product with the --from photo's activations" },
];

export const FUNCTION_NAMES: readonly string[] = SIGNATURES.map((s) => s.name);

/** `channel_interpolate` and `channel-interpolate` are one function; names are case-blind. */
export const canonicalName = (name: string): string => name.toLowerCase().replace(/-/g, '_');

export function signatureOf(name: string): Signature | undefined {
  const want = canonicalName(name);
  return SIGNATURES.find((s) => s.name === want);
}

/** `neuron(layer, n, at=centre)`: how a function is called, for error messages. */
export function signatureText(s: Signature): string {
  if (!s.params.length) return s.name;
  return `${s.name}(${s.params.map((p) => (p.default === undefined ? p.name : `${p.name}=${p.default}`)).join(', ')})`;
}
