// Structure checks, with the TypeScript compiler's own parser and checker (so `import type`,
// re-exports and shadowed names are read as the compiler reads them):
//   node scripts/structure.js cycles [srcDir]   exit 1 and print each import cycle in srcDir
//   node scripts/structure.js state [dir] [scope]  list mutable module-level bindings under dir
//                                                  (mutations looked for in scope, default src/)
// test/structure.test.ts runs both (as child processes: a program of all src/ is a lot of memory
// to leave in a jest worker); `npm run check:cycles` is the first.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every .ts file under dir, recursively, sorted. */
export function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

function program(files) {
  return ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true, types: [] });
}

/** The relative module specifiers of a file: imports, `import type`, re-exports, `import x = require()`, literal `import()`. */
function relativeSpecifiers(sf) {
  const out = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** `./x.js` as NodeNext resolves it from TypeScript source: x.ts, or x/index.ts. */
function resolveRelative(from, spec, known) {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => known.has(c));
}

/** file -> the files it imports (relative imports only), every .ts file under srcDir. */
export function importGraph(srcDir) {
  const files = sourceFiles(srcDir);
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const sf = ts.createSourceFile(file, ts.sys.readFile(file), ts.ScriptTarget.ES2022, true);
    graph.set(file, [...new Set(relativeSpecifiers(sf).map((s) => resolveRelative(file, s, known)).filter(Boolean))]);
  }
  return graph;
}

/**
 * One cycle (a list of files, first = last) per strongly connected component with more than
 * one module or a self-import: fixing those is what "no cycles" asks.
 */
export function findCycles(graph) {
  let index = 0;
  const order = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const strongConnect = (v) => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), order.get(w)));
      }
    }
    if (low.get(v) === order.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!order.has(v)) strongConnect(v);
  // Shortest path back to the start inside the component, so the printed cycle is a real one.
  return components.map((component) => {
    const inside = new Set(component);
    const start = [...component].sort()[0];
    const previous = new Map([[start, undefined]]);
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of graph.get(v) ?? []) {
        if (w === start) {
          const cycle = [start];
          for (let u = v; u !== undefined; u = previous.get(u)) cycle.unshift(u);
          return cycle;
        }
        if (inside.has(w) && !previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

const MUTATING_METHODS = new Set(['set', 'add', 'delete', 'clear', 'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']);
const ASSIGNMENTS = new Set([ts.SyntaxKind.EqualsToken, ts.SyntaxKind.PlusEqualsToken, ts.SyntaxKind.MinusEqualsToken, ts.SyntaxKind.AsteriskEqualsToken, ts.SyntaxKind.SlashEqualsToken, ts.SyntaxKind.PercentEqualsToken, ts.SyntaxKind.AsteriskAsteriskEqualsToken, ts.SyntaxKind.BarEqualsToken, ts.SyntaxKind.AmpersandEqualsToken, ts.SyntaxKind.CaretEqualsToken, ts.SyntaxKind.LessThanLessThanEqualsToken, ts.SyntaxKind.GreaterThanGreaterThanEqualsToken, ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken, ts.SyntaxKind.BarBarEqualsToken, ts.SyntaxKind.AmpersandAmpersandEqualsToken, ts.SyntaxKind.QuestionQuestionEqualsToken]);

/** The identifier a property or element chain hangs off (`a` in `a.b[0].c`), if any. */
function rootIdentifier(node) {
  let n = node;
  for (;;) {
    if (ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n) || ts.isNonNullExpression(n) || ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isSatisfiesExpression?.(n) || ts.isTypeAssertionExpression(n)) n = n.expression;
    else return ts.isIdentifier(n) ? n : undefined;
  }
}

const isMember = (n) => ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n);

/** Identifiers whose value something changes in place: `x.p = …`, `x[i]++`, `delete x.p`, `x.set(…)`, `Object.assign(x, …)`. */
function mutatedRoots(sf) {
  const roots = [];
  const visit = (node) => {
    if (ts.isBinaryExpression(node) && ASSIGNMENTS.has(node.operatorToken.kind) && isMember(node.left)) roots.push(rootIdentifier(node.left));
    else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken) && isMember(node.operand)) roots.push(rootIdentifier(node.operand));
    else if (ts.isDeleteExpression(node)) roots.push(rootIdentifier(node.expression));
    else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const callee = node.expression;
      if (MUTATING_METHODS.has(callee.name.text)) roots.push(rootIdentifier(callee.expression));
      const owner = callee.expression;
      if (ts.isIdentifier(owner) && owner.text === 'Object' && ['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf'].includes(callee.name.text) && node.arguments[0]) roots.push(rootIdentifier(node.arguments[0]));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return roots.filter(Boolean);
}

function bindingNames(name) {
  if (ts.isIdentifier(name)) return [name];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

/**
 * Module-level bindings of the files under `dir` whose value can change after load: every
 * `let`/`var`, and every other top-level binding (const, function, class) that code anywhere in
 * `scope` changes in place (a Map that is `.set`, an array that is pushed, an object whose
 * property is assigned). A const table that nothing writes to is not state. As "file:name",
 * file relative to the project root, sorted.
 */
export function mutableModuleState(dir, scope = path.join(ROOT, 'src')) {
  const files = sourceFiles(scope);
  const prog = program(files);
  const checker = prog.getTypeChecker();
  const symbolOf = (id) => {
    const s = checker.getSymbolAtLocation(id);
    return s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  };
  const wanted = new Map(); // symbol -> "file:name"
  const found = new Set();
  const inDir = (f) => !path.relative(dir, f).startsWith('..');
  for (const file of files.filter(inDir)) {
    const sf = prog.getSourceFile(file);
    const rel = path.relative(ROOT, file);
    for (const statement of sf.statements) {
      if (ts.isVariableStatement(statement)) {
        const mutableKind = !(statement.declarationList.flags & ts.NodeFlags.Const);
        for (const decl of statement.declarationList.declarations) {
          for (const id of bindingNames(decl.name)) {
            if (mutableKind) found.add(`${rel}:${id.text}`);
            else wanted.set(symbolOf(id), `${rel}:${id.text}`);
          }
        }
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
        wanted.set(symbolOf(statement.name), `${rel}:${statement.name.text}`);
      }
    }
  }
  for (const file of files) {
    for (const id of mutatedRoots(prog.getSourceFile(file))) {
      const name = wanted.get(symbolOf(id));
      if (name) found.add(name);
    }
  }
  return [...found].sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [what, dirArg, scopeArg] = process.argv.slice(2);
  if (what === 'cycles') {
    const dir = path.resolve(dirArg ?? path.join(ROOT, 'src'));
    const cycles = findCycles(importGraph(dir));
    for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => path.relative(dir, f)).join(' -> ')}`);
    if (cycles.length === 0) console.error(`no import cycles in ${path.relative(process.cwd(), dir) || '.'}`);
    process.exitCode = cycles.length ? 1 : 0;
  } else if (what === 'state') {
    const dir = path.resolve(dirArg ?? path.join(ROOT, 'src/dream'));
    for (const name of mutableModuleState(dir, scopeArg ? path.resolve(scopeArg) : undefined)) console.log(name);
  } else {
    console.error('usage: node scripts/structure.js cycles [srcDir] | state [dir]');
    process.exitCode = 2;
  }
}
