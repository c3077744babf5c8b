// advanced.scalingModifiers.formula: the part of expr-lang (the language KEDA evaluates formulas in) that
// KEDA documents for formulas, parsed by jsep into a tree and evaluated here over plain values. Nothing
// is ever run as JavaScript: the tree is walked by evaluate() below, and every construct outside the
// subset is refused when the formula is compiled, with a message naming the field.
//
// Supported, with expr-lang's meaning (github.com/expr-lang/expr v1.17, the version KEDA 2.20 uses):
//   numbers (123, 1.5, 1e3), true, false, nil, the names of the ScaledObject's named triggers;
//   + - * / % ** ^, unary - + ! not; == != < > <= >= (a < b < c means a < b && b < c);
//   && || and or; a ? b : c (nested); a ?? b; [a, b, ...];
//   abs ceil floor round int float max min sum mean median len count all any none one filter map,
//   the predicate ones with {# > 1} or a bare # > 1 as their second argument.
// Precedence is expr-lang's, which differs from JavaScript's in three places: ?? binds tightest (and may
// not be followed by another operator without parentheses), comparisons share one level, and a unary
// minus applies to a whole power (-2 ** 2 is -4).
//
// Numbers are ints or floats as in expr-lang: trigger values are floats, literals without a point are
// ints, / and ** always give floats, % needs ints. KEDA wraps the formula in float(...), so the result
// must be a number; a formula that uses ?? may also end in nil (then fallback.replicas stands in).

import jsep from 'jsep';

type Expression = jsep.Expression;
type HookScope = jsep.HookScope;

export const FORMULA_FIELD = 'advanced.scalingModifiers.formula';

export class FormulaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormulaError';
  }
}

type Op = '+' | '-' | '*' | '/' | '%' | '**' | '^' | '==' | '!=' | '<' | '>' | '<=' | '>=' | '&&' | '||' | '??';

export type FormulaNode =
  | { t: 'num'; v: number; int: boolean; paren?: boolean }
  | { t: 'bool'; v: boolean; paren?: boolean }
  | { t: 'nil'; paren?: boolean }
  | { t: 'name'; name: string; paren?: boolean }
  | { t: 'pointer'; paren?: boolean }
  | { t: 'unary'; op: '-' | '+' | '!'; arg: FormulaNode; paren?: boolean }
  | { t: 'binary'; op: Op; left: FormulaNode; right: FormulaNode; paren?: boolean; chainEnd?: FormulaNode }
  | { t: 'cond'; test: FormulaNode; then: FormulaNode; else: FormulaNode; paren?: boolean }
  | { t: 'array'; items: FormulaNode[]; paren?: boolean }
  | { t: 'call'; fn: Builtin; args: FormulaNode[]; paren?: boolean }
  | { t: 'closure'; body: FormulaNode; paren?: boolean };

export interface CompiledFormula {
  source: string;
  tree: FormulaNode;
  /** KEDA keeps a nil result only for formulas that contain ?? (castToFloatIfNecessary) */
  mayBeNil: boolean;
}

/** A trigger's value in the formula; null is nil (a trigger past its failureThreshold with fallback.behavior scalingModifiers). */
export type FormulaVariables = Readonly<Record<string, number | null>>;

export type FormulaResult = { value: number } | { nil: true } | { error: string };

// --- the parser: jsep, configured once for expr-lang's operators -------------------------------------

const GROUP = 'ExprGroup';
const POINTER = 'ExprPointer';
const CLOSURE = 'ExprClosure';

// jsep's precedence numbers (higher binds tighter), ordered as expr-lang's parser/operator table
jsep.addBinaryOp('or', 1);
jsep.addBinaryOp('||', 1);
jsep.addBinaryOp('and', 2);
jsep.addBinaryOp('&&', 2);
for (const op of ['==', '!=', '<', '>', '<=', '>=']) jsep.addBinaryOp(op, 6);
jsep.removeBinaryOp('^');
jsep.addBinaryOp('^', 11, true);
jsep.addBinaryOp('**', 11, true);
jsep.addBinaryOp('??', 12);
jsep.addUnaryOp('not');
jsep.removeLiteral('null');
jsep.addLiteral('nil', null);
jsep.plugins.register({
  name: 'scalepass-expr-lang',
  init() {
    jsep.hooks.add('gobble-token', function exprTokens(this: HookScope, env: { node?: Expression }) {
      if (this.char === '(') {
        // kept as a node of its own: expr-lang's rules for ??, comparison chains and unary minus
        // depend on whether the operand was in parentheses
        const inner = this.gobbleGroup();
        if (!inner) this.throwError('empty parentheses');
        env.node = { type: GROUP, expression: inner };
      } else if (this.char === '#') {
        this.index++;
        env.node = { type: POINTER };
      } else if (this.char === '{') {
        this.index++;
        const body = this.gobbleExpression();
        this.gobbleSpaces();
        if ((this.char as string) !== '}') this.throwError('expected } to close the predicate');
        this.index++;
        env.node = { type: CLOSURE, body };
      }
    });
  },
});

// --- compile: jsep tree -> checked FormulaNode ---------------------------------------------------------

const UNARY_PRECEDENCE: Record<string, number> = { '-': 90, '+': 90, '!': 50 };
const BINARY_PRECEDENCE: Record<Op, number> = {
  '||': 10, '&&': 15, '==': 20, '!=': 20, '<': 20, '>': 20, '<=': 20, '>=': 20,
  '+': 30, '-': 30, '*': 60, '/': 60, '%': 60, '**': 100, '^': 100, '??': 500,
};
const OPERATORS: Record<string, Op> = {
  '+': '+', '-': '-', '*': '*', '/': '/', '%': '%', '**': '**', '^': '^',
  '==': '==', '!=': '!=', '<': '<', '>': '>', '<=': '<=', '>=': '>=',
  '&&': '&&', and: '&&', '||': '||', or: '||', '??': '??',
};
const CHAINED = new Set<Op>(['<', '>', '<=', '>=']);
const EXPR_WORD_OPERATORS = /\b(in|matches|contains|startsWith|endsWith)\b/;

type Builtin =
  | 'abs' | 'ceil' | 'floor' | 'round' | 'int' | 'float'
  | 'max' | 'min' | 'mean' | 'median' | 'sum' | 'len'
  | 'count' | 'all' | 'any' | 'none' | 'one' | 'filter' | 'map';

/** arity, and whether the second argument is a predicate over the array's elements (#) */
const BUILTINS: Record<Builtin, { min: number; max: number; predicate?: boolean }> = {
  abs: { min: 1, max: 1 }, ceil: { min: 1, max: 1 }, floor: { min: 1, max: 1 }, round: { min: 1, max: 1 },
  int: { min: 1, max: 1 }, float: { min: 1, max: 1 },
  max: { min: 1, max: Infinity }, min: { min: 1, max: Infinity }, mean: { min: 1, max: Infinity }, median: { min: 1, max: Infinity },
  len: { min: 1, max: 1 },
  sum: { min: 1, max: 2, predicate: true }, count: { min: 1, max: 2, predicate: true },
  all: { min: 2, max: 2, predicate: true }, any: { min: 2, max: 2, predicate: true }, none: { min: 2, max: 2, predicate: true },
  one: { min: 2, max: 2, predicate: true }, filter: { min: 2, max: 2, predicate: true }, map: { min: 2, max: 2, predicate: true },
};
const BUILTIN_NAMES = Object.keys(BUILTINS).join(', ');

function fail(message: string): never {
  throw new FormulaError(`${FORMULA_FIELD}: ${message}`);
}

/**
 * Parses and checks a formula over the given trigger names. Throws FormulaError, whose message names
 * the field, for a syntax error, an unknown name or a construct outside the supported subset.
 */
export function compileFormula(source: string, names: readonly string[]): CompiledFormula {
  const text = source.trim();
  if (text === '') fail('is empty');
  if (/^let\s/.test(text)) fail('`let` declarations are not supported');
  if (/^if\s*[({\w]/.test(text)) fail('`if { } else { }` is not supported; write a ternary: cond ? a : b');
  if (/\?\s*:/.test(text)) fail('`?:` is not supported; write a ? a : b');
  if (/\?\./.test(text)) fail('`?.` member access is not supported');
  let parsed: Expression;
  try {
    parsed = jsep(text);
  } catch (e) {
    refuseWordOperator(text, new Set(names));
    const msg = e instanceof Error ? e.message : String(e);
    fail(`syntax error: ${msg}`);
  }
  const known = new Set(names);
  const tree = convert(parsed, { source: text, known, names, inClosure: false });
  return { source: text, tree, mayBeNil: text.includes('??') };
}

interface Scope {
  source: string;
  known: ReadonlySet<string>;
  names: readonly string[];
  inClosure: boolean;
}

function convert(n: Expression, scope: Scope): FormulaNode {
  switch (n.type) {
    case GROUP:
      return { ...convert(n.expression as Expression, scope), paren: true };
    case POINTER:
      if (!scope.inClosure) fail('`#` is only allowed inside a predicate, e.g. count([a, b], {# > 1})');
      return { t: 'pointer' };
    case CLOSURE:
      fail('a predicate {...} is only allowed as the second argument of count, all, any, none, one, filter, map or sum');
    // eslint-disable-next-line no-fallthrough
    case 'Literal': {
      const v = n.value;
      if (typeof v === 'number') return { t: 'num', v, int: /^[0-9]+$/.test(String(n.raw)) };
      if (typeof v === 'boolean') return { t: 'bool', v };
      if (v === null) return { t: 'nil' };
      if (typeof v === 'string') fail(`string literals are not supported (${String(n.raw)})`);
      return fail(`the literal ${String(n.raw)} is not supported`);
    }
    case 'Identifier': {
      const name = n.name as string;
      if (!scope.known.has(name)) {
        if (name in BUILTINS) fail(`${name} is a function: call it, e.g. ${name}(...)`);
        const list = scope.names.length > 0 ? scope.names.join(', ') : 'none';
        fail(`unknown name ${name}: a formula can use the names of the ScaledObject's triggers that are not cpu or memory (here: ${list})`);
      }
      return { t: 'name', name };
    }
    case 'ThisExpression':
      return convert({ type: 'Identifier', name: 'this' }, scope);
    case 'UnaryExpression': {
      const raw = n.operator as string;
      if (raw !== '-' && raw !== '+' && raw !== '!' && raw !== 'not') fail(`the operator ${raw} is not supported`);
      return { t: 'unary', op: raw === 'not' ? '!' : raw, arg: convert(n.argument as Expression, scope) };
    }
    case 'BinaryExpression': {
      const raw = n.operator as string;
      const op = OPERATORS[raw];
      if (op === undefined) fail(`the operator ${raw} is not supported`);
      return binary(op, convert(n.left as Expression, scope), convert(n.right as Expression, scope));
    }
    case 'ConditionalExpression':
      return {
        t: 'cond',
        test: convert(n.test as Expression, scope),
        then: convert(n.consequent as Expression, scope),
        else: convert(n.alternate as Expression, scope),
      };
    case 'ArrayExpression': {
      const items = n.elements as (Expression | null)[];
      return { t: 'array', items: items.map((i) => (i === null ? fail('an array may not have empty elements') : convert(i, scope))) };
    }
    case 'CallExpression': {
      const callee = n.callee as Expression;
      if (callee.type !== 'Identifier') fail('only the built-in functions can be called');
      const fn = callee.name as string;
      if (!Object.hasOwn(BUILTINS, fn)) fail(`unknown function ${fn}: supported are ${BUILTIN_NAMES}`);
      const b = BUILTINS[fn as Builtin];
      const args = n.arguments as Expression[];
      if (args.length < b.min || args.length > b.max) {
        const want = b.min === b.max ? String(b.min) : b.max === Infinity ? `at least ${b.min}` : `${b.min} or ${b.max}`;
        fail(`${fn} takes ${want} argument${want === '1' ? '' : 's'}, got ${args.length}`);
      }
      const converted = args.map((a, i) => {
        if (b.predicate && i === 1) {
          // {# > 1} or a bare # > 1: expr-lang takes both as the predicate
          const body = a.type === CLOSURE ? (a.body as Expression) : a;
          return { t: 'closure' as const, body: convert(body, { ...scope, inClosure: true }) };
        }
        return convert(a, scope);
      });
      return { t: 'call', fn: fn as Builtin, args: converted };
    }
    case 'Compound': {
      refuseWordOperator(scope.source, scope.known);
      return fail('expected one expression: two expressions follow each other without an operator between them');
    }
    case 'SequenceExpression':
      return fail('expected one expression inside the parentheses, found a list separated by commas');
    case 'MemberExpression':
      return fail('member access (a.b, a[0]) is not supported');
    default:
      return fail(`${n.type} is not supported`);
  }
}

/** `a in [1]`, `a matches b`: jsep reads expr-lang's word operators as names next to each other */
function refuseWordOperator(source: string, known: ReadonlySet<string>): void {
  const word = source.match(EXPR_WORD_OPERATORS)?.[1];
  if (word !== undefined && !known.has(word)) fail(`the operator ${word} is not supported`);
}

/** expr-lang's parsing rules that jsep's precedence climbing does not give by itself */
function binary(op: Op, left: FormulaNode, right: FormulaNode): FormulaNode {
  if (op !== '??' && left.t === 'binary' && left.op === '??' && !left.paren) {
    fail(`the operator ${op} and coalesce expressions (??) cannot be mixed: wrap either in parentheses`);
  }
  // a unary operator takes everything that binds tighter than itself: -a ** 2 is -(a ** 2)
  if (left.t === 'unary' && !left.paren && BINARY_PRECEDENCE[op] >= (UNARY_PRECEDENCE[left.op] ?? 0)) {
    return { t: 'unary', op: left.op, arg: binary(op, left.arg, right) };
  }
  // a < b <= c means a < b && b <= c
  if (CHAINED.has(op) && !left.paren && left.t === 'binary' && (left.chainEnd !== undefined || CHAINED.has(left.op))) {
    const last = left.chainEnd ?? left.right;
    return { t: 'binary', op: '&&', left, right: { t: 'binary', op, left: last, right }, chainEnd: right };
  }
  return { t: 'binary', op, left, right };
}

// --- evaluate ------------------------------------------------------------------------------------------

type Value =
  | { k: 'int' | 'float'; n: number }
  | { k: 'bool'; b: boolean }
  | { k: 'nil' }
  | { k: 'array'; items: Value[] };

const NIL: Value = { k: 'nil' };

class EvalError extends Error {}

function typeName(v: Value): string {
  return v.k;
}

function isNum(v: Value): v is { k: 'int' | 'float'; n: number } {
  return v.k === 'int' || v.k === 'float';
}

function num(n: number, int: boolean): Value {
  return { k: int ? 'int' : 'float', n };
}

function bad(message: string): never {
  throw new EvalError(message);
}

/**
 * Evaluates the formula over the triggers' values, as KEDA's float(<formula>): a number, or nil when the
 * formula uses ?? and ends in nil. An operation expr-lang refuses at run time is an error.
 */
export function evaluateFormula(f: CompiledFormula, vars: FormulaVariables): FormulaResult {
  let v: Value;
  try {
    v = evaluate(f.tree, vars, undefined);
  } catch (e) {
    if (e instanceof EvalError) return { error: `${FORMULA_FIELD}: ${e.message}` };
    // a formula nested deeply enough to exhaust the stack
    if (e instanceof RangeError) return { error: `${FORMULA_FIELD}: the formula is nested too deeply` };
    throw e;
  }
  if (isNum(v)) return { value: v.n };
  if (v.k === 'nil') {
    if (f.mayBeNil) return { nil: true };
    return { error: `${FORMULA_FIELD}: the formula returned nil, which float() does not take` };
  }
  return { error: `${FORMULA_FIELD}: the formula must return a number, it returned a ${typeName(v)}` };
}

function evaluate(node: FormulaNode, vars: FormulaVariables, pointer: Value | undefined): Value {
  switch (node.t) {
    case 'num':
      return num(node.v, node.int);
    case 'bool':
      return { k: 'bool', b: node.v };
    case 'nil':
      return NIL;
    case 'name': {
      const v = vars[node.name];
      return v === null || v === undefined ? NIL : num(v, false);
    }
    case 'pointer':
      return pointer ?? bad('# used outside a predicate');
    case 'unary': {
      const a = evaluate(node.arg, vars, pointer);
      if (node.op === '!') {
        if (a.k !== 'bool') bad(`invalid operation: !${typeName(a)} (! and not need a boolean)`);
        return { k: 'bool', b: !a.b };
      }
      if (!isNum(a)) bad(`invalid operation: ${node.op}${typeName(a)}`);
      return num(node.op === '-' ? -a.n : a.n, a.k === 'int');
    }
    case 'binary':
      return evaluateBinary(node.op, node.left, node.right, vars, pointer);
    case 'cond': {
      const test = evaluate(node.test, vars, pointer);
      if (test.k !== 'bool') bad(`non-bool expression (type ${typeName(test)}) used as condition`);
      return evaluate(test.b ? node.then : node.else, vars, pointer);
    }
    case 'array':
      return { k: 'array', items: node.items.map((i) => evaluate(i, vars, pointer)) };
    case 'call':
      return call(node.fn, node.args, vars, pointer);
    case 'closure':
      return bad('a predicate is only allowed as a function argument');
  }
}

function evaluateBinary(op: Op, l: FormulaNode, r: FormulaNode, vars: FormulaVariables, pointer: Value | undefined): Value {
  if (op === '&&' || op === '||') {
    const a = evaluate(l, vars, pointer);
    if (a.k !== 'bool') bad(`invalid operation: ${typeName(a)} ${op} ... (${op} needs booleans)`);
    if (op === '&&' ? !a.b : a.b) return a;
    const b = evaluate(r, vars, pointer);
    if (b.k !== 'bool') bad(`invalid operation: bool ${op} ${typeName(b)} (${op} needs booleans)`);
    return b;
  }
  if (op === '??') {
    const a = evaluate(l, vars, pointer);
    return a.k === 'nil' ? evaluate(r, vars, pointer) : a;
  }
  const a = evaluate(l, vars, pointer);
  const b = evaluate(r, vars, pointer);
  if (op === '==') return { k: 'bool', b: equal(a, b) };
  if (op === '!=') return { k: 'bool', b: !equal(a, b) };
  if (!isNum(a) || !isNum(b)) bad(`invalid operation: ${typeName(a)} ${op} ${typeName(b)}`);
  const ints = a.k === 'int' && b.k === 'int';
  switch (op) {
    case '+':
      return num(a.n + b.n, ints);
    case '-':
      return num(a.n - b.n, ints);
    case '*':
      return num(a.n * b.n, ints);
    case '/':
      // expr-lang divides as floats: x / 0 is +Inf, 0 / 0 is NaN (the composite step refuses both)
      return num(a.n / b.n, false);
    case '%':
      if (!ints) bad(`invalid operation: ${typeName(a)} % ${typeName(b)} (% needs integers: use int(...))`);
      if (b.n === 0) bad('integer divide by zero');
      return num(a.n % b.n, true);
    case '**':
    case '^':
      return num(a.n ** b.n, false);
    case '<':
      return { k: 'bool', b: a.n < b.n };
    case '>':
      return { k: 'bool', b: a.n > b.n };
    case '<=':
      return { k: 'bool', b: a.n <= b.n };
    case '>=':
      return { k: 'bool', b: a.n >= b.n };
  }
}

function equal(a: Value, b: Value): boolean {
  if (isNum(a) && isNum(b)) return a.n === b.n;
  if (a.k === 'bool' && b.k === 'bool') return a.b === b.b;
  if (a.k === 'nil' || b.k === 'nil') return a.k === b.k;
  if (a.k === 'array' && b.k === 'array') return a.items.length === b.items.length && a.items.every((x, i) => equal(x, b.items[i] as Value));
  return false;
}

function call(fn: Builtin, args: readonly FormulaNode[], vars: FormulaVariables, pointer: Value | undefined): Value {
  const arg = (i: number): Value => evaluate(args[i] as FormulaNode, vars, pointer);
  const number = (v: Value): { k: 'int' | 'float'; n: number } => (isNum(v) ? v : bad(`invalid argument for ${fn} (type ${typeName(v)})`));
  switch (fn) {
    case 'abs': {
      const v = number(arg(0));
      return num(Math.abs(v.n), v.k === 'int');
    }
    case 'ceil':
      return num(Math.ceil(number(arg(0)).n), false);
    case 'floor':
      return num(Math.floor(number(arg(0)).n), false);
    case 'round': {
      // Go's math.Round: halves away from zero
      const n = number(arg(0)).n;
      return num(Math.sign(n) * Math.round(Math.abs(n)), false);
    }
    case 'int':
      return num(Math.trunc(number(arg(0)).n), true);
    case 'float':
      return num(number(arg(0)).n, false);
    case 'max':
    case 'min': {
      let best: Value | undefined;
      for (const v of flatten(args.map((_, i) => arg(i)), fn)) {
        if (best === undefined || (fn === 'max' ? v.n > (best as { n: number }).n : v.n < (best as { n: number }).n)) best = v;
      }
      return best ?? NIL;
    }
    case 'mean': {
      const xs = flatten(args.map((_, i) => arg(i)), fn);
      return num(xs.length === 0 ? 0 : xs.reduce((s, v) => s + v.n, 0) / xs.length, false);
    }
    case 'median': {
      const xs = flatten(args.map((_, i) => arg(i)), fn).map((v) => v.n).sort((x, y) => x - y);
      if (xs.length === 0) return num(0, false);
      const mid = Math.floor(xs.length / 2);
      return num(xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2, false);
    }
    case 'len':
      return num(array(arg(0), fn).length, true);
    default:
      return predicate(fn, array(arg(0), fn), args[1], vars);
  }
}

function array(v: Value, fn: string): Value[] {
  return v.k === 'array' ? v.items : bad(`builtin ${fn} takes only array (got ${typeName(v)})`);
}

/** max/min/mean/median take numbers and arrays of them, nested or not */
function flatten(values: readonly Value[], fn: string): { k: 'int' | 'float'; n: number }[] {
  return values.flatMap((v) => {
    if (v.k === 'array') return flatten(v.items, fn);
    if (isNum(v)) return [v];
    return bad(`invalid argument for ${fn} (type ${typeName(v)})`);
  });
}

function predicate(fn: Builtin, items: readonly Value[], closure: FormulaNode | undefined, vars: FormulaVariables): Value {
  const body = closure?.t === 'closure' ? closure.body : undefined;
  const apply = (item: Value): Value => (body === undefined ? item : evaluate(body, vars, item));
  const test = (item: Value): boolean => {
    const r = apply(item);
    return r.k === 'bool' ? r.b : bad(`predicate should return boolean (got ${typeName(r)})`);
  };
  switch (fn) {
    case 'count':
      return num(items.filter(test).length, true);
    case 'all':
      return { k: 'bool', b: items.every(test) };
    case 'any':
      return { k: 'bool', b: items.some(test) };
    case 'none':
      return { k: 'bool', b: !items.some(test) };
    case 'one':
      return { k: 'bool', b: items.filter(test).length === 1 };
    case 'filter':
      return { k: 'array', items: items.filter(test) };
    case 'map':
      return { k: 'array', items: items.map(apply) };
    case 'sum': {
      const xs = items.map((i) => {
        const v = apply(i);
        return isNum(v) ? v : bad(`invalid argument for sum (type ${typeName(v)})`);
      });
      return num(xs.reduce((s, v) => s + v.n, 0), xs.every((v) => v.k === 'int'));
    }
    default:
      return bad(`unknown function ${fn}`);
  }
}

/**
 * KEDA's webhook check: the formula compiles over the named triggers that are not cpu/memory, and runs
 * with each of them at -1 without an error. Returns the compiled formula or the error message.
 */
export function validateFormula(source: string, names: readonly string[]): CompiledFormula | { error: string } {
  let f: CompiledFormula;
  try {
    f = compileFormula(source, names);
  } catch (e) {
    if (e instanceof FormulaError) return { error: e.message };
    throw e;
  }
  const r = evaluateFormula(f, Object.fromEntries(names.map((n) => [n, -1])));
  return 'error' in r ? { error: r.error } : f;
}
