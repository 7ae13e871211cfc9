export * from './raster.js';
export * from './colormap.js';
export * from './grid.js';
export * from './font.js';
export * from './io.js';
export * from './feature-grid.js';
