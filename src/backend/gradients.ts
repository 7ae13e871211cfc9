import tf = require('@tensorflow/tfjs');
import {
  conv2dFilterGradient,
  conv2dInputGradient,
  depthwiseFilterGradient,
  depthwiseInputGradient,
  type ConvGeometry,
} from './conv-gradients.js';
import { installActivationGradients } from './activation-gradients.js';
import { extraWasmKernels } from './wasm-kernels.js';

/**
 * tfjs-backend-wasm 4.22 lacks the filter gradient of conv2d and both gradients of the
 * depthwise conv (so no MobileNet can be visualised on it), and its conv2d input gradient
 * is a scalar loop ~10x slower than its XNNPACK forward conv. These kernels compose the
 * gradients from wasm's forward kernels instead (see conv-gradients.ts).
 */

interface KernelArgs {
  inputs: Record<string, tf.Tensor>;
  attrs: Record<string, unknown>;
}

// Kernels get tensors from the engine (runKernel passes the op's tensors through).
const tensor4d = (t: tf.Tensor) => t as tf.Tensor4D;

function geometry(attrs: Record<string, unknown>): ConvGeometry {
  const format = attrs.dataFormat as string | undefined;
  if (format !== undefined && format !== 'NHWC' && format !== 'channelsLast') {
    throw new Error(`wasm conv gradients support NHWC only, got dataFormat '${format}'`);
  }
  return {
    strides: attrs.strides as ConvGeometry['strides'],
    dilations: (attrs.dilations as ConvGeometry['dilations']) ?? 1,
    pad: attrs.pad as ConvGeometry['pad'],
    dimRoundingMode: attrs.dimRoundingMode as ConvGeometry['dimRoundingMode'],
  };
}

type Kernel = (args: KernelArgs) => tf.Tensor;

// On globalThis so that every copy of this module (dist/ next to sources under jest)
// agrees with whichever copy registered the kernels.
const inputOnly: { depth: number } = ((globalThis as Record<symbol, unknown>)[Symbol.for('cnnviz.inputGradientsOnly')] ??= {
  depth: 0,
}) as { depth: number };

/**
 * Run `fn` (typically a tf.grad call with respect to an image) promising that no filter
 * gradient is wanted. tfjs's fused conv2d/depthwise ops (every conv without an activation,
 * so all of MobileNet's) compute the filter gradient eagerly in their custom gradient even
 * when only the input's is asked for, and then drop it; on wasm that is ~30% of a MobileNet
 * step. Inside `fn` the wasm filter-gradient kernels return zeros instead. Anything that
 * does need weight gradients (training) must not run inside it. No effect on other backends.
 */
export function inputGradientsOnly<T>(fn: () => T): T {
  inputOnly.depth++;
  try {
    return fn();
  } finally {
    inputOnly.depth--;
  }
}

const filterGradient =
  (compute: Kernel): Kernel =>
  (args) =>
    inputOnly.depth > 0 ? tf.zeros(args.attrs.filterShape as number[]) : compute(args);

const GRADIENT_KERNELS: Record<string, Kernel> = {
  Conv2DBackpropInput: ({ inputs, attrs }) =>
    conv2dInputGradient(tensor4d(inputs.dy), tensor4d(inputs.filter), attrs.inputShape as number[], geometry(attrs)),
  Conv2DBackpropFilter: filterGradient(({ inputs, attrs }) =>
    conv2dFilterGradient(tensor4d(inputs.x), tensor4d(inputs.dy), attrs.filterShape as number[], geometry(attrs)),
  ),
  DepthwiseConv2dNativeBackpropInput: ({ inputs, attrs }) =>
    depthwiseInputGradient(tensor4d(inputs.dy), tensor4d(inputs.filter), attrs.inputShape as number[], geometry(attrs)),
  DepthwiseConv2dNativeBackpropFilter: filterGradient(({ inputs, attrs }) =>
    depthwiseFilterGradient(tensor4d(inputs.x), tensor4d(inputs.dy), attrs.filterShape as number[], geometry(attrs)),
  ),
};

// Marks our kernel functions so a second registration (even from a second copy of this
// module, as under jest next to dist/) recognises them and does nothing.
const MARK = Symbol.for('cnnviz.wasmKernel');

function install(name: string, kernel: Kernel): boolean {
  const existing = tf.getKernel(name, 'wasm');
  if (existing && (existing.kernelFunc as unknown as Record<symbol, unknown>)[MARK]) return false;
  if (existing) tf.unregisterKernel(name, 'wasm');
  const kernelFunc = kernel as unknown as tf.KernelFunc;
  (kernelFunc as unknown as Record<symbol, unknown>)[MARK] = true;
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  return true;
}

/**
 * Register for the wasm backend the composed gradient kernels, plus replacements for wasm
 * kernels that training and visualisation need and that are missing, scalar loops or
 * inexact (wasm-kernels.ts). initBackend('wasm') calls it. Call it yourself only after
 * '@tensorflow/tfjs-backend-wasm' is imported: that import registers its own kernels over
 * ours. Idempotent; returns the names of the kernels it registered this time.
 */
export function registerWasmGradients(): string[] {
  // Gradients are process-wide in tfjs, not per backend; these compute the same numbers anywhere.
  installActivationGradients();
  const installed: string[] = [];
  for (const [name, kernel] of Object.entries({ ...GRADIENT_KERNELS, ...extraWasmKernels() })) {
    if (install(name, kernel)) installed.push(name);
  }
  return installed;
}

/** Kernel names registerWasmGradients provides. */
export function wasmGradientKernelNames(): string[] {
  return [...Object.keys(GRADIENT_KERNELS), ...Object.keys(extraWasmKernels())];
}
