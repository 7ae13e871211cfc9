import sharp = require('sharp');
import { UsageError } from '../errors.js';
import { drawText, textWidth, GLYPH_HEIGHT } from '../image/font.js';
import { type Raster } from '../image/raster.js';
import { activationFn, type ActivationFn } from './activation.js';

export type TextMode = 'auto' | 'svg' | 'bitmap';
export const TEXT_MODES: readonly TextMode[] = ['auto', 'svg', 'bitmap'];

export interface PlotOptions {
  xRange?: [number, number];
  width?: number;
  height?: number;
  /** svg: sharp draws the labels with the machine's fonts; bitmap: cnnviz's own 3x5 font; auto: svg when a real font exists. */
  text?: TextMode;
}

export interface PlotResult {
  raster: Raster;
  text: 'svg' | 'bitmap';
  xRange: [number, number];
  yRange: [number, number];
  functions: { name: string; formula: string; samples: { x: number; y: number }[] }[];
  /** Where a point of the chart's coordinate system lands in the picture. */
  toPixel: (x: number, y: number) => { x: number; y: number };
}

interface Label {
  text: string;
  x: number;
  /** Baseline. */
  y: number;
  anchor: 'start' | 'middle' | 'end';
  size: number;
  color: string;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd'];
const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** 1, 2 or 5 times a power of ten, giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function ticks(lo: number, hi: number, count: number): number[] {
  const step = niceStep(hi - lo, count);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.abs(v) < 1e-9 ? 0 : +v.toPrecision(6));
  return out;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

let fontCheck: Promise<boolean> | undefined;
/**
 * Whether sharp (librsvg + fontconfig) has a real font. Without one it still draws text, as
 * same-sized boxes, so ink alone proves nothing: a real font makes 'WWWW' wider than 'iiii'.
 */
export function svgFontsAvailable(): Promise<boolean> {
  const inkWidth = async (text: string) => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="24"><text x="2" y="18" font-family="${FONT}" font-size="16">${text}</text></svg>`;
    const { data, info } = await sharp(Buffer.from(svg)).raw().toBuffer({ resolveWithObject: true });
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 3; i < data.length; i += info.channels) if (data[i] > 0) [lo, hi] = [Math.min(lo, ((i - 3) / info.channels) % info.width), Math.max(hi, ((i - 3) / info.channels) % info.width)];
    return hi - lo;
  };
  fontCheck ??= Promise.all([inkWidth('iiii'), inkWidth('WWWW')]).then(([narrow, wide]) => wide > narrow + 4).catch(() => false);
  return fontCheck;
}

/**
 * Activation curves on one chart with axes, ticks and a legend: drawn as SVG and rasterized
 * by sharp. Labels go through the SVG when the machine has fonts, else they are stamped
 * onto the raster with the bitmap font, so the chart never silently loses its text.
 */
export async function plotActivations(names: string[], opts: PlotOptions = {}): Promise<PlotResult> {
  if (names.length === 0) throw new UsageError('plot needs at least one function: relu, sigmoid, tanh, relu6, leaky-relu');
  const fns: ActivationFn[] = [...new Set(names.map((n) => activationFn(n).name))].map((n) => activationFn(n));
  const [x0, x1] = opts.xRange ?? [-6, 6];
  if (!(x1 > x0)) throw new UsageError(`bad --x-range ${x0},${x1}: the first number must be smaller than the second`);
  const width = opts.width ?? 480;
  const height = opts.height ?? 320;
  const text = opts.text === 'svg' || opts.text === 'bitmap' ? opts.text : (await svgFontsAvailable()) ? 'svg' : 'bitmap';

  const N = 400;
  const curves = fns.map((f) => Array.from({ length: N + 1 }, (_, i) => x0 + ((x1 - x0) * i) / N).map((x) => ({ x, y: f.fn(x) })));
  const ys = curves.flat().map((p) => p.y);
  let [y0, y1] = [Math.min(0, ...ys), Math.max(0, ...ys)];
  const pad = (y1 - y0) * 0.08 || 1;
  [y0, y1] = [y0 - pad, y1 + pad];

  const m = { left: 44, right: 14, top: 14, bottom: 34 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  if (pw < 40 || ph < 40) throw new UsageError(`chart ${width}x${height} is too small: give --width and --height of at least 100`);
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number) => m.top + ((y1 - y) / (y1 - y0)) * ph;

  const shapes: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
  const labels: Label[] = [];
  for (const t of ticks(x0, x1, 8)) {
    shapes.push(`<line x1="${px(t)}" y1="${m.top}" x2="${px(t)}" y2="${m.top + ph}" stroke="#e6e6e6"/>`);
    labels.push({ text: String(t), x: px(t), y: m.top + ph + 15, anchor: 'middle', size: 11, color: '#333333' });
  }
  for (const t of ticks(y0, y1, 6)) {
    shapes.push(`<line x1="${m.left}" y1="${py(t)}" x2="${m.left + pw}" y2="${py(t)}" stroke="#e6e6e6"/>`);
    labels.push({ text: String(t), x: m.left - 5, y: py(t) + 4, anchor: 'end', size: 11, color: '#333333' });
  }
  // The axes through zero are what the curves are read against.
  if (x0 <= 0 && x1 >= 0) shapes.push(`<line x1="${px(0)}" y1="${m.top}" x2="${px(0)}" y2="${m.top + ph}" stroke="#555555" stroke-width="1.2"/>`);
  shapes.push(`<line x1="${m.left}" y1="${py(0)}" x2="${m.left + pw}" y2="${py(0)}" stroke="#555555" stroke-width="1.2"/>`);
  shapes.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999999"/>`);
  // Curves that coincide (relu, relu6 and leaky-relu for 0 < x < 6) would hide each other:
  // each drawn later is thinner, so the earlier ones show as a rim around it.
  const strokeWidth = (i: number) => (2.5 + 2 * (curves.length - 1 - i)).toFixed(1);
  curves.forEach((pts, i) => {
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(2)},${py(p.y).toFixed(2)}`).join('');
    shapes.push(`<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="${strokeWidth(i)}" stroke-linejoin="round" stroke-linecap="round"/>`);
  });
  labels.push({ text: 'x', x: m.left + pw, y: height - 4, anchor: 'end', size: 12, color: '#000000' });
  labels.push({ text: 'f(x)', x: 4, y: m.top + 10, anchor: 'start', size: 12, color: '#000000' });
  fns.forEach((f, i) => {
    const y = m.top + 18 + i * 18;
    shapes.push(`<line x1="${m.left + 10}" y1="${y - 4}" x2="${m.left + 30}" y2="${y - 4}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`);
    labels.push({ text: `${f.name}: ${f.formula}`, x: m.left + 36, y, anchor: 'start', size: 13, color: '#000000' });
  });

  const svgText = text === 'svg' ? labels.map((l) => `<text x="${l.x}" y="${l.y}" font-family="${FONT}" font-size="${l.size}" text-anchor="${l.anchor}" fill="${l.color}">${escape(l.text)}</text>`) : [];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}${svgText.join('')}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raster: Raster = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  if (text === 'bitmap') for (const l of labels) stamp(raster, l);

  const integers = ticks(x0, x1, 8);
  return {
    raster,
    text,
    xRange: [x0, x1],
    yRange: [y0, y1],
    functions: fns.map((f) => ({ name: f.name, formula: f.formula, samples: integers.map((x) => ({ x, y: +f.fn(x).toPrecision(6) })) })),
    toPixel: (x, y) => ({ x: px(x), y: py(y) }),
  };
}

/** A label drawn with the bitmap font, placed as the SVG text would be. */
function stamp(img: Raster, l: Label): void {
  const scale = l.size >= 12 ? 2 : 1;
  const w = textWidth(l.text, scale);
  const x = l.anchor === 'middle' ? l.x - w / 2 : l.anchor === 'end' ? l.x - w : l.x;
  const rgb = [1, 3, 5].map((i) => parseInt(l.color.slice(i, i + 2), 16));
  drawText(img, l.text, Math.round(x), Math.round(l.y - GLYPH_HEIGHT * scale), rgb, scale);
}
