import { UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { isField, nominalBox, receptiveFields, type Box, type LayerField, type NominalField } from '../model/receptive-field.js';
import { inputBoxToPhoto, clipBox, type FitInput } from './geometry.js';
import { photoSize } from './crop.js';

/** One photo of a ranking, as the dataset index gives it (see src/dataset-index/query.ts). */
export interface RankedUnit {
  file: string;
  value: number;
  y: number;
  x: number;
}

/** What `examples` needs of a dataset index: its layers, how photos met the model, and a ranking. */
export interface ExampleIndex {
  input: FitInput;
  layers: { name: string; index: number; height: number; width: number; channels: number }[];
  rankUnits(layer: string, channel: number, opts: { k: number; bottom?: boolean; thenBy?: 'path' | 'mean' }): RankedUnit[];
}

export interface Example extends RankedUnit {
  filter: number;
  /** 1 for the most exciting (least, with --bottom). */
  rank: number;
  /** The unit's receptive field in model-input pixels, unclipped: it may run past the input's edge. */
  inputBox: Box;
  /** The same field in the photo's pixels (after EXIF rotation), unclipped: what the crop shows. */
  fieldBox: Box;
  /** The part of fieldBox inside the photo. */
  cropBox: Box;
  photo: { width: number; height: number };
}

/** The layer's receptive field at the index's input size, or a one-line reason why there is none. */
export function layerFieldFor(loaded: LoadedModel, layerIndex: number, input: FitInput): LayerField {
  const fields = receptiveFields(loaded, [input.height, input.width]);
  const f = fields[layerIndex];
  const name = loaded.graph.layers[layerIndex].name;
  if (!isField(f)) throw new UsageError(`examples cannot crop ${name}'s units: ${f.unsupported}`);
  return f;
}

/**
 * The receptive field an index recorded for a layer (format version 2), or undefined for an
 * older index (work it out from the model with layerFieldFor); a recorded reason is refused
 * with layerFieldFor's message.
 */
export function recordedField(layer: { name: string; field?: NominalField | { unsupported: string } }): NominalField | undefined {
  const f = layer.field;
  if (f && 'unsupported' in f) throw new UsageError(`examples cannot crop ${layer.name}'s units: ${f.unsupported}`);
  return f;
}

/** Photo sizes by file, read once: pass one to several findExamples calls over the same photos. */
export type PhotoSizes = Map<string, Promise<{ width: number; height: number }>>;

/** The k best (or worst) photos of each filter, with the boxes their crops come from. */
export async function findExamples(index: ExampleIndex, layerName: string, field: NominalField, filters: number[], opts: { k: number; bottom?: boolean; sizes?: PhotoSizes }): Promise<Example[][]> {
  const sizes: PhotoSizes = opts.sizes ?? new Map();
  const sizeOf = (file: string) => {
    let p = sizes.get(file);
    if (!p) sizes.set(file, (p = photoSize(file)));
    return p;
  };
  return Promise.all(
    filters.map((filter) =>
      Promise.all(
        // Photos tied at a capped maximum (ReLU6 reaches 6 in the top 9 of ~40% of MobileNet's
        // pointwise channels) go by their mean, not by file name.
        index.rankUnits(layerName, filter, { ...opts, thenBy: 'mean' }).map(async (u, i) => {
          const photo = await sizeOf(u.file);
          // A global layer's units see the whole input: the crop is the whole photo.
          const inputBox = field.global ? { top: 0, left: 0, bottom: index.input.height - 1, right: index.input.width - 1 } : nominalBox(field, u.y, u.x);
          const fieldBox = inputBoxToPhoto(inputBox, photo, index.input);
          const cropBox = clipBox(fieldBox, photo.width, photo.height) ?? { top: 0, left: 0, bottom: -1, right: -1 };
          return { ...u, filter, rank: i + 1, inputBox, fieldBox, cropBox, photo };
        }),
      ),
    ),
  );
}
