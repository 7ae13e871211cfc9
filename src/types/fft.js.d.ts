// fft.js ships no types; this is the part of its API cnnviz uses.
declare module 'fft.js' {
  type Complex = Float64Array | number[];
  export default class FFT {
    constructor(size: number);
    /** Forward DFT (e^-i) of interleaved re, im pairs; out must not be data. */
    transform(out: Complex, data: Complex): void;
    /** Inverse DFT (e^+i), divided by the size. */
    inverseTransform(out: Complex, data: Complex): void;
  }
}
