import tf = require('@tensorflow/tfjs');
import { readKey, type Objective, type Read } from './objective.js';

/** Every read of `objectives`, each once. */
function unionReads(objectives: readonly Objective[]): Read[] {
  const seen = new Map<string, Read>();
  for (const o of objectives) for (const r of o.reads) if (!seen.has(readKey(r))) seen.set(readKey(r), r);
  return [...seen.values()];
}

/** The picture count the parts agree on (channel_interpolate's row), if any part sets one. */
function agreedPictures(objectives: readonly Objective[]): number | undefined {
  const counts = [...new Set(objectives.map((o) => o.pictures).filter((n): n is number => n !== undefined))];
  if (counts.length > 1) throw new Error(`objectives want different picture counts (${counts.join(', ')}): combine ones that render the same row`);
  return counts[0];
}

/** a + b + …: the gradient of a sum is the sum of the gradients. */
export function sum(...objectives: Objective[]): Objective {
  if (objectives.length === 0) throw new Error('sum of no objectives');
  if (objectives.length === 1) return objectives[0];
  return {
    reads: unionReads(objectives),
    text: objectives.map((o, i) => (i === 0 ? o.text : o.text.startsWith('-') ? `+ (${o.text})` : `+ ${o.text}`)).join(' '),
    pictures: agreedPictures(objectives),
    dispose: () => objectives.forEach((o) => o.dispose?.()),
    evaluate: (inputs) => tf.tidy(() => objectives.map((o) => o.evaluate(inputs)).reduce((a, v) => a.add(v)) as tf.Tensor1D),
  };
}

/** k · o. */
export function scale(k: number, o: Objective): Objective {
  return { ...o, text: `${k} * ${wrap(o.text)}`, evaluate: (inputs) => tf.tidy(() => o.evaluate(inputs).mul(k) as tf.Tensor1D) };
}

/** −o: what `--minimize` dreams. */
export function negate(o: Objective): Objective {
  return { ...o, text: `-${wrap(o.text)}`, evaluate: (inputs) => tf.tidy(() => o.evaluate(inputs).neg() as tf.Tensor1D) };
}

/** a − b; b sees a's score (as `score`), so a penalty can guard it. */
export function difference(a: Objective, b: Objective): Objective {
  const both = sum(a, negate(b));
  return {
    ...both,
    text: `${a.text} - ${wrap(b.text)}`,
    evaluate: (inputs) =>
      tf.tidy(() => {
        const kept = a.evaluate(inputs);
        return kept.sub(b.evaluate({ ...inputs, score: kept })) as tf.Tensor1D;
      }),
  };
}

/** Brackets around a text that holds a top-level + or −. */
function wrap(text: string): string {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && i > 0 && (ch === '+' || ch === '-') && text[i - 1] === ' ') return `(${text})`;
  }
  return text;
}
