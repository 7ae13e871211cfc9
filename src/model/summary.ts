import { type LoadedModel } from './load.js';

export interface LayerSummary {
  index: number;
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
  activation?: string;
  isConv: boolean;
}

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
    totalParams: loaded.model.countParams(),
    layers,
  };
}
