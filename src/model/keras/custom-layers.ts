import * as tf from '@tensorflow/tfjs';

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

type PoolingArgs = LayerArgs & { mode?: string };

/**
 * GlobalAverage/MaxPooling2D with keepdims=True (Keras 3 MobileNetV3 squeeze-excite blocks):
 * tfjs's global pooling always drops the spatial axes.
 */
export class GlobalPooling2DKeepDims extends tf.layers.Layer {
  static className = 'CnnvizGlobalPooling2DKeepDims';
  private readonly mode: 'avg' | 'max';

  constructor(args: PoolingArgs = {}) {
    super(args);
    this.mode = args.mode === 'max' ? 'max' : 'avg';
  }

  /** Listed under its Keras name: this class only exists to keep the axes. */
  getClassName(): string {
    return this.mode === 'max' ? 'GlobalMaxPooling2D' : 'GlobalAveragePooling2D';
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], 1, 1, s[3]];
  }

  call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.mode === 'max' ? x.max([1, 2], true) : x.mean([1, 2], true);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
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
tf.serialization.registerClass(GlobalPooling2DKeepDims);
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
