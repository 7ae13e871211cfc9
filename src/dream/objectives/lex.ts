/**
 * The tokens of an `--objective` expression (see parse.ts for the grammar). Columns count from
 * 1, as an editor shows them, so an error can point at the character.
 */

export type Token =
  | { kind: 'number'; value: number; text: string; column: number }
  | { kind: 'name'; text: string; column: number }
  | { kind: 'string'; text: string; column: number }
  | { kind: 'punct'; text: '+' | '-' | '*' | '/' | '(' | ')' | ',' | '=' | ':'; column: number }
  | { kind: 'end'; column: number };

/** Thrown with the column; parse.ts turns it into one UsageError line naming the expression. */
export class SyntaxProblem extends Error {
  /** `<problem> at column <n>[: <detail>]`: the column right after what is wrong, the why after it. */
  constructor(
    readonly problem: string,
    readonly column: number,
    readonly detail?: string,
  ) {
    super(`${problem} at column ${column}${detail ? `: ${detail}` : ''}`);
  }
}

const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
// Keras names (conv_pw_7_relu, block1_conv1), nested and graph names with '/', dotted names.
// A '-' inside a name is part of it (channel-interpolate): subtract with spaces around it.
const NAME = /^[A-Za-z_][A-Za-z0-9_./-]*/;
const PUNCT = '+-*/(),=:';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const column = i + 1;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const number = rest.match(NUMBER);
    if (number) {
      // `7x` is neither a number nor a name: say so rather than read it as 7 then x.
      if (/^[A-Za-z_]/.test(rest.slice(number[0].length)) && !/^[eE]/.test(rest.slice(number[0].length))) {
        throw new SyntaxProblem(`'${rest.match(/^[A-Za-z0-9_.]+/)![0]}'`, column, "not a number, and a name starts with a letter or '_' (quote a layer name that doesn't)");
      }
      tokens.push({ kind: 'number', value: Number(number[0]), text: number[0], column });
      i += number[0].length;
      continue;
    }
    const name = rest.match(NAME);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], column });
      i += name[0].length;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      if (close < 0) throw new SyntaxProblem(`unterminated ${ch} quote`, column, `the quote opened there is never closed`);
      tokens.push({ kind: 'string', text: text.slice(i + 1, close), column });
      i = close + 1;
      continue;
    }
    if (PUNCT.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch as '+', column });
      i++;
      continue;
    }
    throw new SyntaxProblem(`unexpected '${ch}'`, column);
  }
  tokens.push({ kind: 'end', column: text.length + 1 });
  return tokens;
}
