import { graphParamCount } from './graph.js';
import { type LoadedModel } from './load.js';
import { type LayerInfo } from './layers.js';

/** A layer as plain data: LayerInfo without the live tfjs objects. */
export type LayerSummary = Omit<LayerInfo, 'layer' | 'output'>;

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
  const layers = loaded.graph.layers.map(({ index, name, className, outputShape, params, activation, isConv }) => ({
    index,
    name,
    className,
    outputShape,
    params,
    activation,
    isConv,
  }));
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
