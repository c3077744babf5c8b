// advanced.scalingModifiers.formula: a table of formulas and what they give, worked out by hand from
// expr-lang's rules (github.com/expr-lang/expr v1.17, which KEDA 2.20 evaluates formulas with), then
// the formulas that are refused and the errors at run time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFormula, evaluateFormula, validateFormula } from '../../../src/scaling/formula.ts';

const NAMES = ['a', 'b', 'c', 'trig_one', 'trig_two', 'trig_three', 'queue', 'db'];
const VARS = { a: 2, b: 3, c: 4, trig_one: 1, trig_two: 5, trig_three: 0, queue: 30, db: 12 };

function value(formula: string, vars: Record<string, number | null> = VARS): number | 'nil' | string {
  const r = evaluateFormula(compileFormula(formula, NAMES), vars);
  if ('value' in r) return r.value;
  if ('nil' in r) return 'nil';
  return `error: ${r.error}`;
}

function compileError(formula: string): string {
  try {
    compileFormula(formula, NAMES);
  } catch (e) {
    return (e as Error).message;
  }
  return 'compiled';
}

describe('formulas and their values (a=2 b=3 c=4 trig_one=1 trig_two=5 trig_three=0 queue=30 db=12)', () => {
  const rows: [string, number | 'nil'][] = [
    // arithmetic and precedence
    ['queue + db', 42],
    ['(queue + db) / 2', 21],
    ['a + b * c', 14],
    ['(a + b) * c', 20],
    ['queue / 4', 7.5],
    ['7 / 2', 3.5], // expr-lang divides as floats, also two ints
    ['c - a - b', -1], // left to right
    ['int(queue) % 7', 2],
    ['2 ** 3 ** 2', 512], // right to left: 2 ** 9
    ['2 ^ 3', 8], // ^ is power in expr-lang, not xor
    ['-2 ** 2', -4], // unary minus takes the whole power
    ['(-2) ** 2', 4],
    ['-a + b', 1],
    ['+a', 2],
    ['1.5e1 + 0.5', 15.5],
    // comparisons and ternaries, KEDA's documented examples
    ['trig_one > 2 ? trig_one + trig_two : 1', 1],
    ['trig_one < 2 ? trig_one + trig_two : 1', 6],
    ['trig_one < 2 ? trig_one+trig_two >= 2 ? 5 : 10 : 0', 5],
    ['trig_one < 2 ? trig_one+trig_two >= 9 ? 5 : 10 : 0', 10],
    ['trig_one > 2 ? trig_one+trig_two >= 2 ? 5 : 10 : 0', 0],
    ['count([trig_one,trig_two,trig_three],{#>1}) > 1 ? 5 : 0', 0], // only trig_two is above 1
    ['count([trig_one,trig_two,trig_three],{#>0}) > 1 ? 5 : 0', 5],
    ['a == 2 ? 1 : 0', 1],
    ['a != 2 ? 1 : 0', 0],
    ['a < b < c ? 1 : 0', 1], // a chain: a < b && b < c
    ['a < c < b ? 1 : 0', 0],
    ['a < b && b < c ? 1 : 0', 1],
    ['a > b || b < c ? 1 : 0', 1],
    ['a > b or b > c ? 1 : 0', 0],
    ['not (a > b) and true ? 1 : 0', 1],
    ['!(a > b) ? 1 : 0', 1],
    ['queue >= 30 ? queue : db', 30],
    // built-ins
    ['max(queue, db)', 30],
    ['min(queue, db)', 12],
    ['max([a, b], c)', 4],
    ['min([a, [b, c]], 5)', 2],
    ['abs(a - queue)', 28],
    ['ceil(queue / 7)', 5],
    ['floor(queue / 7)', 4],
    ['round(2.5)', 3], // halves away from zero, as Go
    ['round(-2.5)', -3],
    ['int(-2.7)', -2],
    ['float(7)', 7],
    ['sum([a, b, c])', 9],
    ['sum([a, b, c], # * 2)', 18],
    ['mean([queue, db])', 21],
    ['median(a, c, b, 100)', 3.5],
    ['len([a, b, c])', 3],
    ['count([a, b, c], # > 2)', 2], // a bare predicate, without braces
    ['all([a, b, c], # > 1) ? 1 : 0', 1],
    ['any([a, b, c], # > 3) ? 1 : 0', 1],
    ['none([a, b, c], # > 3) ? 1 : 0', 0],
    ['one([a, b, c], # > 3) ? 1 : 0', 1],
    ['sum(filter([a, b, c], # > 2))', 7],
    ['sum(map([a, b], # * 10))', 50],
    // nil-coalescing (a trigger past failureThreshold with fallback.behavior scalingModifiers is nil)
    ['queue ?? db', 30],
    ['(queue ?? 0) + db', 42],
    ['queue + db ?? 0', 42], // ?? binds tightest: queue + (db ?? 0)
    ['nil ?? 1', 1],
  ];
  for (const [formula, want] of rows) it(`${formula} = ${want}`, () => assert.equal(value(formula), want));
});

describe('formulas over a trigger that is nil', () => {
  const vars = { ...VARS, queue: null };
  it('queue ?? db falls back to db', () => assert.equal(value('queue ?? db', vars), 12));
  it('queue ?? db ?? 8 gives db', () => assert.equal(value('queue ?? db ?? 8', vars), 12));
  it('queue ?? db ?? 8 gives 8 when both are nil', () => assert.equal(value('queue ?? db ?? 8', { ...vars, db: null }), 8));
  it('queue ?? db is nil when both are nil (then fallback.replicas x target stands in)', () => assert.equal(value('queue ?? db', { ...vars, db: null }), 'nil'));
  it('queue == nil ? 5 : queue is 5', () => assert.equal(value('queue == nil ? 5 : queue', vars), 5));
  it('arithmetic on nil is an error', () => assert.match(String(value('queue + 1', vars)), /^error: advanced\.scalingModifiers\.formula: invalid operation: nil \+ int$/));
  it('a formula without ?? may not end in nil, as float(nil) fails', () => assert.match(String(value('queue', vars)), /returned nil/));
});

describe('errors at run time name the field', () => {
  const rows: [string, RegExp][] = [
    ['queue % 7', /invalid operation: float % int \(% needs integers: use int\(\.\.\.\)\)/],
    ['int(queue) % 0', /integer divide by zero/],
    ['queue > db', /must return a number, it returned a bool/],
    ['queue ? 1 : 2', /non-bool expression \(type float\) used as condition/],
    ['queue && true ? 1 : 0', /invalid operation: float && \.\.\. \(&& needs booleans\)/],
    ['!queue ? 1 : 0', /invalid operation: !float/],
    ['count([queue, db], # + 1)', /predicate should return boolean \(got float\)/],
    ['count(queue, # > 1)', /builtin count takes only array \(got float\)/],
    ['max(true, 1)', /invalid argument for max \(type bool\)/],
    ['[queue, db]', /must return a number, it returned a array/],
  ];
  for (const [formula, want] of rows) {
    it(formula, () => {
      const got = String(value(formula));
      assert.match(got, /^error: advanced\.scalingModifiers\.formula: /);
      assert.match(got, want);
    });
  }
  it('a division by zero is +Inf, as in expr-lang (the composite step refuses it)', () => assert.equal(value('queue / (db - 12)'), Infinity));
});

describe('refused when compiled, with a message naming advanced.scalingModifiers.formula', () => {
  const rows: [string, RegExp][] = [
    ['queue + x', /unknown name x: a formula can use the names of the ScaledObject's triggers that are not cpu or memory \(here: a, b, c, trig_one, trig_two, trig_three, queue, db\)/],
    ['queue ?? db + 1', /the operator \+ and coalesce expressions \(\?\?\) cannot be mixed: wrap either in parentheses/],
    ['queue ?? db > 1 ? 1 : 0', /the operator > and coalesce expressions/],
    ['foo(queue)', /unknown function foo: supported are abs, ceil, floor, round, int, float, max, min, mean, median, len, sum, count, all, any, none, one, filter, map/],
    ['max()', /max takes at least 1 argument/],
    ['abs(a, b)', /abs takes 1 argument, got 2/],
    ['all([a])', /all takes 2 arguments, got 1/],
    ['"10"', /string literals are not supported/],
    ['queue.length', /member access \(a\.b, a\[0\]\) is not supported/],
    ['[a, b][0]', /member access/],
    ['queue | db', /the operator \| is not supported/],
    ['queue & db', /the operator & is not supported/],
    ['queue === db', /the operator === is not supported/],
    ['~queue', /the operator ~ is not supported/],
    ['queue in [1, 2]', /the operator in is not supported/],
    ['let x = queue; x * 2', /`let` declarations are not supported/],
    ['if queue > 1 { 2 } else { 3 }', /`if \{ \} else \{ \}` is not supported; write a ternary/],
    ['queue ?: db', /`\?:` is not supported/],
    ['queue db', /two expressions follow each other without an operator/],
    ['(queue, db)', /found a list separated by commas/],
    ['queue +', /syntax error: Expected expression after \+/],
    ['queue ? 1', /syntax error: Expected :/],
    ['(queue', /syntax error: Unclosed \(/],
    ['# > 1', /`#` is only allowed inside a predicate/],
    ['max', /max is a function: call it/],
    ['   ', /is empty/],
  ];
  for (const [formula, want] of rows) {
    it(formula, () => {
      const got = compileError(formula);
      assert.match(got, /^advanced\.scalingModifiers\.formula: /);
      assert.match(got, want);
    });
  }
});

describe("KEDA's webhook check: compile, then run with every named trigger at -1", () => {
  it('accepts a formula that runs with -1', () => assert.ok(!('error' in validateFormula('(queue + db) / 2', ['queue', 'db']))));
  it('refuses a name that is not a named trigger', () => {
    const r = validateFormula('queue + other', ['queue']);
    assert.ok('error' in r && /unknown name other/.test(r.error));
  });
  it('refuses a formula whose run with -1 fails (int(-1 + 1) is 0)', () => {
    const r = validateFormula('int(queue) % int(queue + 1)', ['queue']);
    assert.ok('error' in r && /integer divide by zero/.test(r.error));
  });
  it('refuses a boolean formula', () => {
    const r = validateFormula('queue > 1', ['queue']);
    assert.ok('error' in r && /returned a bool/.test(r.error));
  });
  it('never runs JavaScript: a constructor lookup is refused', () => {
    assert.match(compileError('a.constructor.constructor("return process")()'), /only the built-in functions can be called/);
    assert.match(compileError('a.constructor'), /member access/);
  });
});
