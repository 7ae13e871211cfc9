import tf = require('@tensorflow/tfjs');

/**
 * Keras pieces tfjs-layers lacks, registered with tfjs's serialization map so a translated
 * Keras config names them like any built-in class. Importing this module registers them.
 */

type Kwargs = Record<string, unknown>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

type NormalizationArgs = LayerArgs & {
  axis?: number | number[] | null;
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  invert?: boolean;
};

/** Keras's epsilon: the floor Normalization puts under the standard deviation. */
const EPSILON = 1e-7;

/**
 * keras.layers.Normalization: (x - mean) / max(sqrt(variance), 1e-7) per kept axis, or the
 * inverse. Mean and variance come from the config when given there, else from the weights
 * `mean`, `variance` and `count` (what `adapt()` fills in and the file stores).
 */
export class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number[];
  private readonly invert: boolean;
  private readonly fixedMean?: number | number[];
  private readonly fixedVariance?: number | number[];
  private broadcastShape: number[] = [];
  private meanWeight?: tf.LayerVariable;
  private varianceWeight?: tf.LayerVariable;

  constructor(args: NormalizationArgs = {}) {
    super(args);
    this.axis = args.axis == null ? [] : Array.isArray(args.axis) ? args.axis : [args.axis];
    this.invert = !!args.invert;
    this.fixedMean = args.mean ?? undefined;
    this.fixedVariance = args.variance ?? undefined;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const keep = this.axis.map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
    this.broadcastShape = shape.map((d, i) => (keep.includes(i) ? (d as number) : 1));
    if (this.fixedMean === undefined) {
      const stats = keep.map((d) => shape[d] as number);
      this.meanWeight = this.addWeight('mean', stats, 'float32', tf.initializers.zeros(), undefined, false);
      this.varianceWeight = this.addWeight('variance', stats, 'float32', tf.initializers.ones(), undefined, false);
      this.addWeight('count', [], 'float32', tf.initializers.zeros(), undefined, false);
    }
    this.built = true;
  }

  private stat(fixed: number | number[] | undefined, weight: tf.LayerVariable | undefined): tf.Tensor {
    const t = fixed !== undefined ? tf.tensor(fixed) : weight!.read();
    return t.size === 1 ? t.reshape([]) : t.reshape(this.broadcastShape);
  }

  call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const mean = this.stat(this.fixedMean, this.meanWeight);
      const std = tf.maximum(tf.sqrt(this.stat(this.fixedVariance, this.varianceWeight)), EPSILON);
      return this.invert ? x.mul(std).add(mean) : x.sub(mean).div(std);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, mean: this.fixedMean ?? null, variance: this.fixedVariance ?? null, invert: this.invert };
  }
}

const single = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);
const singleShape = (s: tf.Shape | tf.Shape[]) => (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;

/**
 * GlobalAveragePooling2D with keepdims=True (Keras 3 MobileNetV3 squeeze-excite blocks):
 * tfjs's global pooling always drops the spatial axes.
 */
export class GlobalAveragePooling2DKeepDims extends tf.layers.Layer {
  static className = 'GlobalAveragePooling2DKeepDims';
  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    return [s[0], 1, 1, s[3]];
  }
  call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return single(inputs).mean([1, 2], true);
  }
}

export class GlobalMaxPooling2DKeepDims extends GlobalAveragePooling2DKeepDims {
  static className = 'GlobalMaxPooling2DKeepDims';
  call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return single(inputs).max([1, 2], true);
  }
}

export type ScalarOpKind = 'add' | 'sub' | 'mul' | 'div';
type ScalarOpArgs = LayerArgs & { op?: ScalarOpKind; scalar?: number; reversed?: boolean };

/**
 * Arithmetic with a constant applied straight to a tensor, which Keras records as a node of
 * its own: Keras 2's TFOpLambda (`x + 3.` → tf.__operators__.add with y = 3) and Keras 3's
 * keras.ops nodes. MobileNetV3's hard_sigmoid, relu6(x + 3) * (1/6), is built this way.
 */
export class ScalarOp extends tf.layers.Layer {
  static className = 'ScalarOp';
  private readonly op: ScalarOpKind;
  private readonly scalar: number;
  /** The constant comes first: c - x, c / x. */
  private readonly reversed: boolean;

  constructor(args: ScalarOpArgs = {}) {
    super(args);
    this.op = args.op ?? 'add';
    this.scalar = args.scalar ?? 0;
    this.reversed = !!args.reversed;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const c = tf.scalar(this.scalar);
      const [a, b] = this.reversed ? [c, x] : [x, c];
      return this.op === 'add' ? tf.add(a, b) : this.op === 'sub' ? tf.sub(a, b) : this.op === 'mul' ? tf.mul(a, b) : tf.div(a, b);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), op: this.op, scalar: this.scalar, reversed: this.reversed };
  }
}

/** An activation function object as tfjs-layers' Activation layer and conv/dense layers call it. */
abstract class CustomActivation extends tf.serialization.Serializable {
  abstract apply(x: tf.Tensor): tf.Tensor;
  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

/** Keras 3's hard_sigmoid, relu6(x + 3) / 6 (Keras 2's, and tfjs's, is clip(0.2x + 0.5)). */
export class HardSigmoidKeras3 extends CustomActivation {
  static className = 'cnnvizHardSigmoid';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.relu6(x.add(3)).div(6));
  }
}

/** Keras 3's hard_silu / hard_swish: x · relu6(x + 3) / 6 (MobileNetV3). */
export class HardSwish extends CustomActivation {
  static className = 'cnnvizHardSwish';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => x.mul(tf.relu6(x.add(3)).div(6)));
  }
}

tf.serialization.registerClass(Normalization);
tf.serialization.registerClass(GlobalAveragePooling2DKeepDims);
tf.serialization.registerClass(GlobalMaxPooling2DKeepDims);
tf.serialization.registerClass(ScalarOp);
tf.serialization.registerClass(HardSigmoidKeras3);
tf.serialization.registerClass(HardSwish);

/**
 * Keras activation names whose tfjs spelling or meaning differs, as written into the
 * translated config (tfjs camel-cases them on reading). `keras3` picks Keras 3 semantics.
 */
export function activationFor(name: string, keras3: boolean): string {
  switch (name) {
    case 'hard_sigmoid':
      return keras3 ? 'cnnviz_hard_sigmoid' : name;
    case 'hard_silu':
    case 'hard_swish':
      return 'cnnviz_hard_swish';
    case 'silu':
      return 'swish';
    default:
      return name;
  }
}
