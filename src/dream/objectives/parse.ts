import { UsageError } from '../../errors.js';
import { closestNames } from '../../model/address.js';
import { SyntaxProblem, tokenize, type Token } from './lex.js';
import { FUNCTION_NAMES, signatureOf, signatureText, type Param, type Signature } from './signatures.js';

/**
 * The `--objective` expression language (issue 16): objectives combined with + and −, scaled
 * by numbers. Pure: no model, no tfjs; bind.ts turns the tree into an Objective.
 *
 * ```
 * expression := term { ('+' | '-') term }
 * term       := unary { ('*' | '/') unary }     (a product needs a number on one side; '/' only by a number)
 * unary      := '-' unary | primary
 * primary    := number | call | '(' expression ')'
 * call       := name [ '(' [ arg { ',' arg } ] ')' ]
 * arg        := [ name '=' ] value
 * value      := number | '-' number | name | 'quoted' | "quoted" | int ':' int   (x:y position)
 * number     := digits [ '.' digits ] [ ('e' | 'E') [ '+' | '-' ] digits ]      (0.5, 1e-3, 100)
 * name       := [A-Za-z_] [A-Za-z0-9_./-]*                                    (a '-' inside a name is part of it)
 * ```
 *
 * Calls are checked here against signatures.ts (known function, argument count, names and
 * kinds), and so are the types: a sum adds objectives to objectives, a product multiplies an
 * objective by a number, and the whole is an objective. Every error is one UsageError line,
 * `bad --objective '<text>': <what> at column <n>`.
 */

/** An argument's value as written. */
export type ArgValue =
  | { kind: 'number'; value: number; text: string; column: number }
  | { kind: 'name'; text: string; column: number }
  | { kind: 'string'; text: string; column: number }
  | { kind: 'position'; x: number; y: number; column: number };

export type ObjectiveNode =
  | { kind: 'number'; value: number; text: string; column: number }
  /** A call, its arguments matched to the signature's parameters by name (optional ones may be absent). */
  | { kind: 'call'; name: string; args: Record<string, ArgValue>; column: number }
  | { kind: 'negate'; operand: ObjectiveNode; column: number }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; left: ObjectiveNode; right: ObjectiveNode; column: number };

/** The value of a node made of numbers only, or undefined when it holds an objective. */
export function constantValue(node: ObjectiveNode): number | undefined {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'call':
      return undefined;
    case 'negate': {
      const v = constantValue(node.operand);
      return v === undefined ? undefined : -v;
    }
    case 'binary': {
      const [a, b] = [constantValue(node.left), constantValue(node.right)];
      if (a === undefined || b === undefined) return undefined;
      return node.op === '+' ? a + b : node.op === '-' ? a - b : node.op === '*' ? a * b : a / b;
    }
  }
}

export function parseObjective(text: string): ObjectiveNode {
  try {
    const parser = new Parser(tokenize(text));
    const node = parser.expression();
    parser.expectEnd();
    if (constantValue(node) !== undefined) throw new SyntaxProblem('a number alone', node.column, 'a number is not an objective; expected a function such as channel(layer, n)');
    return node;
  } catch (err) {
    if (err instanceof SyntaxProblem) throw new UsageError(`bad --objective '${text}': ${err.message}`);
    throw err;
  }
}

const quoted = (items: string[]): string => items.map((s) => `'${s}'`).join(items.length === 2 ? ' or ' : ', ');

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  private get next(): Token {
    return this.tokens[this.at];
  }

  private isPunct(...texts: string[]): boolean {
    const t = this.next;
    return t.kind === 'punct' && texts.includes(t.text);
  }

  private expected(what: string): SyntaxProblem {
    return new SyntaxProblem(`expected ${what}`, this.next.column);
  }

  private take(text: string): Token {
    if (!this.isPunct(text)) throw this.expected(`'${text}'`);
    return this.tokens[this.at++];
  }

  expectEnd(): void {
    if (this.next.kind !== 'end') throw this.expected(`'+', '-', '*', '/' or the end`);
  }

  expression(): ObjectiveNode {
    let left = this.term();
    while (this.isPunct('+', '-')) {
      const op = this.tokens[this.at++] as Token & { text: '+' | '-' };
      const right = this.term();
      if ((constantValue(left) === undefined) !== (constantValue(right) === undefined)) {
        throw new SyntaxProblem(`'${op.text}' between a number and an objective`, op.column, "a constant added to an objective changes nothing (scale it with '*')");
      }
      left = { kind: 'binary', op: op.text, left, right, column: op.column };
    }
    return left;
  }

  private term(): ObjectiveNode {
    let left = this.unary();
    while (this.isPunct('*', '/')) {
      const op = this.tokens[this.at++] as Token & { text: '*' | '/' };
      const right = this.unary();
      const [a, b] = [constantValue(left), constantValue(right)];
      if (op.text === '*' && a === undefined && b === undefined) throw new SyntaxProblem("'*' between two objectives", op.column, 'a product needs a number on one side, e.g. 0.5 * channel(...)');
      if (op.text === '/' && b === undefined) throw new SyntaxProblem("'/' by an objective", op.column, 'divide only by a number');
      if (op.text === '/' && b === 0) throw new SyntaxProblem('division by zero', op.column);
      left = { kind: 'binary', op: op.text, left, right, column: op.column };
    }
    return left;
  }

  private unary(): ObjectiveNode {
    if (this.isPunct('-')) {
      const column = this.tokens[this.at++].column;
      return { kind: 'negate', operand: this.unary(), column };
    }
    return this.primary();
  }

  private primary(): ObjectiveNode {
    const t = this.next;
    if (t.kind === 'number') {
      this.at++;
      return { kind: 'number', value: t.value, text: t.text, column: t.column };
    }
    if (t.kind === 'name') return this.call();
    if (this.isPunct('(')) {
      this.at++;
      const inner = this.expression();
      this.take(')');
      return inner;
    }
    throw this.expected("a number, a function such as channel(layer, n), or '('");
  }

  private call(): ObjectiveNode {
    const nameToken = this.tokens[this.at++] as Token & { kind: 'name' };
    const signature = signatureOf(nameToken.text);
    if (!signature) {
      const near = closestNames(nameToken.text, [...FUNCTION_NAMES], 2);
      // `tv-l1` reads as one name: a '-' inside a name is part of it.
      const hint = /[A-Za-z0-9_]-/.test(nameToken.text) && !signatureOf(nameToken.text.replace(/-/g, '_')) ? "to subtract, put spaces around '-'; " : '';
      throw new SyntaxProblem(`unknown objective function '${nameToken.text}'`, nameToken.column, `${hint}did you mean ${near.join(' or ')}? (known: ${FUNCTION_NAMES.join(', ')})`);
    }
    const written: { name?: string; value: ArgValue; column: number }[] = [];
    // Where a missing argument belongs: at the ')', or after a bare name.
    let endColumn = this.next.column;
    if (this.isPunct('(')) {
      this.at++;
      if (!this.isPunct(')')) {
        written.push(this.arg());
        while (this.isPunct(',')) {
          this.at++;
          written.push(this.arg());
        }
      }
      if (!this.isPunct(')')) throw this.expected(`${quoted([',', ')'])}`);
      endColumn = this.tokens[this.at++].column;
    }
    return { kind: 'call', name: signature.name, args: matchArgs(signature, written, endColumn), column: nameToken.column };
  }

  private arg(): { name?: string; value: ArgValue; column: number } {
    const first = this.next;
    if (first.kind === 'name' && this.tokens[this.at + 1]?.kind === 'punct' && (this.tokens[this.at + 1] as { text: string }).text === '=') {
      this.at += 2;
      return { name: first.text, value: this.value(), column: first.column };
    }
    return { value: this.value(), column: first.column };
  }

  private value(): ArgValue {
    const t = this.next;
    if (this.isPunct('-')) {
      this.at++;
      const n = this.next;
      if (n.kind !== 'number') throw this.expected('a number after -');
      this.at++;
      return { kind: 'number', value: -n.value, text: `-${n.text}`, column: t.column };
    }
    if (t.kind === 'number') {
      this.at++;
      if (!this.isPunct(':')) return { kind: 'number', value: t.value, text: t.text, column: t.column };
      this.at++;
      const y = this.next;
      if (y.kind !== 'number') throw this.expected('a whole number y after x:');
      this.at++;
      for (const part of [t, y]) if (!Number.isInteger(part.value)) throw new SyntaxProblem(`position part ${part.text}`, part.column, 'not a whole number: write x:y, e.g. 3:3');
      return { kind: 'position', x: t.value, y: y.value, column: t.column };
    }
    if (t.kind === 'name' || t.kind === 'string') {
      this.at++;
      return { kind: t.kind, text: t.text, column: t.column };
    }
    throw this.expected("an argument: a number, a name, a 'quoted name' or x:y");
  }
}

/** Written arguments (positional first, then named) matched to a signature's parameters, kinds checked. */
function matchArgs(s: Signature, written: { name?: string; value: ArgValue; column: number }[], endColumn: number): Record<string, ArgValue> {
  const sig = signatureText(s);
  const args: Record<string, ArgValue> = {};
  let position = 0;
  let sawNamed = false;
  for (const w of written) {
    let param: Param | undefined;
    if (w.name === undefined) {
      if (sawNamed) throw new SyntaxProblem('positional argument after a named one', w.column, sig);
      param = s.params[position++];
      if (!param) throw new SyntaxProblem(`too many arguments`, w.column, `${s.name} takes ${s.params.length === 0 ? 'none' : `at most ${s.params.length}`}, got ${written.length}: ${sig}`);
    } else {
      sawNamed = true;
      param = s.params.find((p) => p.name === w.name);
      if (!param) throw new SyntaxProblem(`unknown argument '${w.name}'`, w.column, `${s.name} has no such argument: ${sig}`);
    }
    if (args[param.name]) throw new SyntaxProblem(`argument '${param.name}' given twice`, w.column, sig);
    checkKind(param, w.value, sig);
    args[param.name] = w.value;
  }
  const missing = s.params.find((p) => p.default === undefined && !args[p.name]);
  if (missing) throw new SyntaxProblem(`missing argument '${missing.name}'`, endColumn, sig);
  return args;
}

const isWhole = (v: ArgValue): boolean => v.kind === 'number' && Number.isInteger(v.value);

/** Does the value fit the parameter? Names are checked against the model in bind.ts. */
function checkKind(p: Param, v: ArgValue, sig: string): void {
  const bad = (what: string) => new SyntaxProblem(`bad argument ${p.name}=${show(v)}`, v.column, `${p.name} is ${what}, in ${sig}`);
  switch (p.kind) {
    case 'layer':
    case 'layer-or-input':
      if (v.kind === 'position' || (v.kind === 'number' && !isWhole(v))) throw bad('a layer (an index, a name or a quoted name)');
      return;
    case 'unit':
      if (!(isWhole(v) && (v as { value: number }).value >= 0) && !(v.kind === 'name' && v.text === 'unit')) throw bad("a channel (a whole number >= 0, or 'unit')");
      return;
    case 'index':
      if (!(isWhole(v) && (v as { value: number }).value >= 0)) throw bad('a channel (a whole number >= 0)');
      return;
    case 'class':
      if (v.kind === 'position' || (v.kind === 'number' && !(isWhole(v) && v.value >= 0))) throw bad("a class (an index, 'unit', or a label)");
      return;
    case 'number':
      if (v.kind !== 'number') throw bad('a number');
      return;
    case 'count':
      if (!(isWhole(v) && (v as { value: number }).value >= 1)) throw bad('a whole number >= 1');
      return;
    case 'position':
      if (v.kind !== 'position') throw bad('a position x:y');
      return;
  }
}

function show(v: ArgValue): string {
  if (v.kind === 'position') return `${v.x}:${v.y}`;
  if (v.kind === 'string') return `'${v.text}'`;
  return v.text;
}
