import { channelStats, renderFeatureGrid, topChannels, type ChannelStats, type FeatureGridOptions, type FeatureMaps } from './feature-grid.js';
import { encodePng } from './io.js';

/** One layer's feature grid to draw and encode. */
export interface GridPngTask {
  maps: FeatureMaps;
  options: Omit<FeatureGridOptions, 'stats'>;
  /** Show only this many channels, those with the highest mean (`activations --top`): chosen here, where the statistics are computed. */
  top?: number;
  /** zlib level of the PNG. */
  level: number;
}

export interface GridPngResult {
  png: Uint8Array;
  stats: ChannelStats[];
  /** The channels drawn, when not all of them. */
  channels?: number[];
  megapixels: number;
}

/**
 * Grid buffers whose PNG is encoded, for the next grids drawn in this thread: a performance
 * cache only (what is drawn does not depend on it). A worker has at most two grids in hand.
 */
const spareBuffers: Uint8Array[] = [];

/** Statistics, grid and PNG of one layer: what `activations` does per layer besides the forward pass. */
export async function drawGridPng(task: GridPngTask): Promise<GridPngResult> {
  const stats = channelStats(task.maps);
  const channels = task.top ? topChannels(stats, task.top) : task.options.channels;
  const buffer = spareBuffers.pop();
  const grid = renderFeatureGrid(task.maps, { ...task.options, channels, stats, buffer });
  try {
    const png = await encodePng(grid, task.level);
    return { png, stats, channels, megapixels: (grid.width * grid.height) / 1e6 };
  } finally {
    // Whichever is larger is kept: the grids of one network differ in size.
    const drawnInto = buffer && grid.data.buffer === buffer.buffer ? buffer : new Uint8Array(grid.data.buffer);
    spareBuffers.push(buffer && buffer.length > drawnInto.length ? buffer : drawnInto);
  }
}

/** The entry piscina calls in a worker thread. */
export default drawGridPng;
