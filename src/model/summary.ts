import { graphParamCount } from './graph.js';
import { type LoadedModel } from './load.js';
import { type LayerInfo } from './layers.js';
import { fieldSummary, receptiveFields } from './receptive-field.js';

/** A layer's receptive field in input pixels, [rows, cols]; `global` when every unit sees the whole input. */
export interface ReceptiveFieldSummary {
  size: [number, number];
  stride: [number, number];
  global: boolean;
}

/** A layer as plain data: LayerInfo without the live tfjs objects. */
export type LayerSummary = Omit<LayerInfo, 'layer' | 'output'> & {
  /** Absent where it cannot be computed (graph models, layers without a rule, and those after them). */
  receptiveField?: ReceptiveFieldSummary;
};

export interface ModelSummary {
  name: string;
  source: string;
  inputShape: (number | null)[];
  inputRange: [number, number];
  inputRangeSource: string;
  labels?: number;
  totalParams: number;
  layers: LayerSummary[];
}

/** What `cnnviz layers` shows, as plain data (the --json form and the library answer). */
export function describeLayers(loaded: LoadedModel): ModelSummary {
  const [h, w] = loaded.inputShape;
  const size = h != null && w != null ? undefined : loaded.meta.inputSize;
  const fields = receptiveFields(loaded, size);
  const layers = loaded.graph.layers.map(({ index, name, className, outputShape, params, activation, isConv }, i) => {
    const rf = fieldSummary(fields[i]);
    return {
      index,
      name,
      className,
      outputShape,
      params,
      activation,
      isConv,
      ...(rf ? { receptiveField: { size: rf.rf, stride: rf.stride, global: rf.global } } : {}),
    };
  });
  return {
    name: loaded.meta.name,
    source: loaded.source,
    inputShape: [null, ...loaded.inputShape],
    inputRange: loaded.meta.inputRange,
    inputRangeSource: loaded.meta.inputRangeSource,
    labels: loaded.meta.labels?.length,
    totalParams: loaded.graphModel ? graphParamCount(loaded.graphModel) : loaded.model.countParams(),
    layers,
  };
}
