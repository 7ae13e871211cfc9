export * from './errors.js';
export * from './backend/select.js';
