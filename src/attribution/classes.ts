import { UsageError } from '../errors.js';
import { logitsSource } from '../dream/logits.js';
import { resolveClass } from '../dream/setup.js';
import { type LoadedModel } from '../model/load.js';

/**
 * Which class scores an attribution explains. Scores are the classifier's pre-softmax logits
 * (dream/logits.ts: where the model ends in a softmax, possibly followed by Reshape or
 * Dropout, the softmax's input); a one-unit sigmoid head gives two scores, the negative
 * logit for class 0 and the logit for class 1.
 */

/** How many classes the model scores (2 for one sigmoid unit). */
export function scoredClasses(loaded: LoadedModel): number {
  return logitsSource(loaded).classes;
}

/** Whether the head is one sigmoid unit (its two scores are -z and z). */
export function isOneUnitHead(loaded: LoadedModel): boolean {
  const shape = loaded.graph.outputs[0].shape;
  return shape.length === 2 && shape[1] === 1;
}

/** A class's name: the model's label, or "class N". */
export function classLabel(loaded: LoadedModel, index: number): string {
  return loaded.meta.labels?.[index] ?? `class ${index}`;
}

/** What to explain: a class by index or label, 'all', or the top K predicted classes (the default: the top one). */
export interface ClassChoice {
  /** An index, a label (or one of its comma-separated synonyms), or 'all'. */
  class?: string | number;
  /** The K classes with the highest scores. */
  top?: number;
}

/** Check a class choice against the model before any image is read (usage errors exit 2). */
export function checkClassChoice(loaded: LoadedModel, choice: ClassChoice): void {
  if (choice.class !== undefined && choice.top !== undefined) throw new UsageError('--class and --top both choose classes: give one of them');
  if (choice.class !== undefined && String(choice.class).trim().toLowerCase() !== 'all') resolveClass(String(choice.class), loaded.meta.labels, scoredClasses(loaded));
}

/** The class indices a choice picks, given the image's class scores (highest first for --top). */
export function chooseClasses(loaded: LoadedModel, choice: ClassChoice, scores: ArrayLike<number>): number[] {
  const count = scoredClasses(loaded);
  if (choice.class !== undefined) {
    if (String(choice.class).trim().toLowerCase() === 'all') return Array.from({ length: count }, (_, i) => i);
    return [resolveClass(String(choice.class), loaded.meta.labels, count)];
  }
  const k = Math.min(choice.top ?? 1, count);
  return Array.from(scores, (s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((e) => e.i);
}
