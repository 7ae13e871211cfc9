import { UsageError } from '../../errors.js';
import { type LoadedModel } from '../../model/load.js';
import { difference, negate, scale, sum } from './algebra.js';
import { resolveCall, type BindContext, type ResolvedCall, type UnitUse } from './bind-calls.js';
import { type Objective } from './objective.js';
import { constantValue, type ObjectiveNode } from './parse.js';
import { type Units } from './units.js';

export { type BindContext } from './bind-calls.js';

/**
 * From a parsed `--objective` expression (parse.ts) and a model to an Objective: layers
 * resolved by index or name, numbers checked against the model, the expression's
 * + − * / turned into the algebra (algebra.ts). The CLI's shorthand flags become an expression
 * too (shorthandExpression), so every dream goes through this one path.
 */

export interface ObjectiveDescription {
  /** Does the expression use the placeholder `unit` (filled per picture from --filter/--filters)? */
  usesUnit: boolean;
  /** How many units the places where `unit` stands offer (channels, or classes for logit). */
  unitCount?: number;
  /** Every layer the expression reads, in order of appearance, each once (for render-scale decisions). */
  layers: number[];
  /** The expression with layer names: `channel(base/conv_pw_7_relu, 3) - 0.001 * tv`. */
  text: string;
  /** Lines for the user about reads that are not simply what they name (flat.ts). */
  notes: string[];
  /** The functions the expression calls (channel, diversity, caricature, …), each once. */
  functions: string[];
}

/** A node checked against the model: its text, what it reads, and how to build it. */
interface Resolved {
  text: string;
  /** 0: a sum or difference, 1: a product, 2: a call or a negation (for brackets in text). */
  precedence: 0 | 1 | 2;
  calls: (ResolvedCall & { fn: string })[];
  build(ctx: BindContext, units: Units | undefined): Objective;
}

/** A number in text: as written when it is a literal, else its value. */
const numberText = (node: ObjectiveNode, value: number): string => (node.kind === 'number' ? node.text : String(value));
const bracket = (r: Resolved, min: number): string => (r.precedence < min ? `(${r.text})` : r.text);

function resolve(loaded: LoadedModel, node: ObjectiveNode): Resolved {
  switch (node.kind) {
    case 'number':
      // parse.ts lets numbers through only as a product's factor, which 'binary' folds.
      throw new Error('a number outside a product');
    case 'call': {
      const call = { ...resolveCall(loaded, node.name, node.args), fn: node.name };
      return { text: call.text, precedence: 2, calls: [call], build: call.build };
    }
    case 'negate': {
      const inner = resolve(loaded, node.operand);
      return { text: `-${bracket(inner, 2)}`, precedence: 2, calls: inner.calls, build: (ctx, u) => negate(inner.build(ctx, u)) };
    }
    case 'binary': {
      if (node.op === '+' || node.op === '-') {
        const [a, b] = [resolve(loaded, node.left), resolve(loaded, node.right)];
        const op = node.op;
        return {
          text: `${a.text} ${op} ${op === '-' ? bracket(b, 1) : b.text}`,
          precedence: 0,
          calls: [...a.calls, ...b.calls],
          build: (ctx, u) => {
            const left = a.build(ctx, u);
            return op === '+' ? sum(left, b.build(ctx, u)) : difference(left, b.build(ctx, u));
          },
        };
      }
      // A product: parse.ts made sure one side is a number ('/': the right one).
      const leftConstant = constantValue(node.left);
      const [factorNode, objectiveNode] = leftConstant !== undefined ? [node.left, node.right] : [node.right, node.left];
      const factor = constantValue(factorNode)!;
      const o = resolve(loaded, objectiveNode);
      const k = node.op === '/' ? 1 / factor : factor;
      const written = numberText(factorNode, factor);
      const text = node.op === '/' ? `${bracket(o, 1)} / ${written}` : leftConstant !== undefined ? `${written} * ${bracket(o, 1)}` : `${bracket(o, 1)} * ${written}`;
      return { text, precedence: 1, calls: o.calls, build: (ctx, u) => scale(k, o.build(ctx, u)) };
    }
  }
}

/** The one unit count every `unit` agrees on, or a usage error naming the places that differ. */
function agreedUnitCount(uses: UnitUse[]): number | undefined {
  const known = uses.filter((u) => u.count !== undefined);
  const counts = [...new Set(known.map((u) => u.count))];
  if (counts.length > 1) {
    const places = [...new Map(known.map((u) => [u.owner, `${u.owner} has ${u.count} ${u.what}`])).values()];
    throw new UsageError(`'unit' stands for one unit per picture, but its places offer different counts (${places.join(', ')}): use 'unit' on layers with as many channels, or give numbers`);
  }
  return counts[0];
}

export function describeObjective(loaded: LoadedModel, node: ObjectiveNode): ObjectiveDescription {
  return describeResolved(resolve(loaded, node));
}

function describeResolved(r: Resolved): ObjectiveDescription {
  const uses = r.calls.map((c) => c.unitUse).filter((u): u is UnitUse => u !== undefined);
  const notes = [...new Set(r.calls.map((c) => c.note).filter((n): n is string => n !== undefined))];
  return {
    usesUnit: uses.length > 0,
    unitCount: agreedUnitCount(uses),
    layers: [...new Set(r.calls.flatMap((c) => c.layers))],
    text: r.text,
    notes,
    functions: [...new Set(r.calls.map((c) => c.fn))],
  };
}

/**
 * The expression as an Objective whose `text` is the normalized text (layer names). Every
 * usage error (ranges, a missing photo or vector, `unit` without units) is thrown before any
 * part is built, so nothing is left holding tensors.
 */
export function bindObjective(loaded: LoadedModel, node: ObjectiveNode, ctx: BindContext = {}): Objective {
  const r = resolve(loaded, node);
  const about = describeResolved(r);
  let units: Units | undefined;
  if (about.usesUnit) {
    if (!ctx.units?.length) throw new UsageError(`the objective ${about.text} uses 'unit' but no units were given: pick them with --filter or --filters`);
    const count = about.unitCount;
    const bad = count === undefined ? undefined : ctx.units.find((u) => !Number.isInteger(u) || u < 0 || u >= count);
    if (bad !== undefined) {
      const use = r.calls.find((c) => c.unitUse)!.unitUse!;
      throw new UsageError(`unit ${bad} out of range: ${use.owner} has ${count} ${use.what} (0-${count! - 1})`);
    }
    units = ctx.units;
  }
  for (const call of r.calls) call.check?.(ctx);
  const objective = r.build(ctx, units);
  return { ...objective, text: about.text };
}

/**
 * Today's flags (--objective channel|neuron|logit, --layer, --at, --minimize) as an expression
 * over `unit`, so the CLI parses them like any expression.
 */
export function shorthandExpression(o: { objective: 'channel' | 'neuron' | 'logit'; layer: number; at?: [number, number]; minimize?: boolean }): string {
  const inner = o.objective === 'logit' ? 'logit(unit)' : o.objective === 'neuron' ? `neuron(${o.layer}, unit${o.at ? `, at=${o.at[0]}:${o.at[1]}` : ''})` : `channel(${o.layer}, unit)`;
  return o.minimize ? `-(${inner})` : inner;
}
