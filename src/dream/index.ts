// Feature visualization: objectives × parameterizations × transforms × optimizer, and the render loop.
export { dreamBatch, scoreImages, toRasters, checkSettings, DEFAULTS as DREAM_DEFAULTS, KERAS_BASELINE, OPTIMIZER_KINDS, REDIRECT_STEPS } from './render.js';
export type { DreamSettings, DreamBatchResult, ModelInput, OptimizerKind, StepListener } from './render.js';
export { createObjective, checkObjective, OBJECTIVE_KINDS } from './objectives.js';
export type { Objective, ObjectiveKind, ObjectiveOptions } from './objectives.js';
export { createImageParam, createKerasImage, PARAM_KINDS } from './param.js';
export type { ImageParam, ParamKind, ParamOptions } from './param.js';
export { standardTransforms, transformsFor, transformImage, sampleAffine, placeChain, pad as padTransform, jitter, randomScale, randomRotate, resizeTo, TRANSFORM_SETS } from './transforms.js';
export type { Affine, Placement, Transform, TransformSet } from './transforms.js';
export { layerTarget, logitTarget } from './target.js';
export type { Target } from './target.js';
export { modelInput, dreamSize, dreamSizeWarning, dreamTarget, dreamFileName, neuronPosition, resolveClass } from './setup.js';
export type { DreamNameParts } from './setup.js';
export { dreamUnits, dreamSheet, renderBatch, splitBatches } from './sheet.js';
export type { DreamRun, BatchSpec, DreamProgress } from './sheet.js';
export { createRng, subSeed } from './random.js';
export { encodeAnimation } from './animation.js';
export { COLOR_CORRELATION } from './color.js';
