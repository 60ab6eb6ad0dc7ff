// Inputs of the console/inspect differential against Node (see gen.js). Each entry is the
// source of an expression whose value is the argument list of one console.log call.
'use strict';
const cases = [];
const add = (src) => cases.push(src);
// Values, each logged alone.
const values = [
  // primitives
  '0', '-0', '1', '-1.5', '1e21', '1e-7', 'NaN', 'Infinity', '-Infinity', '2**53', '0.1+0.2',
  '1n', '-123456789012345678901234567890n', 'true', 'false', 'null', 'undefined',
  "''", "'a'", "'it\\'s'", "'\"q\"'", "'both \\' and \"'", "'all \\' \" `'", "'line\\nbreak'", "'tab\\t'", "'\\u0000\\u0007\\u001b'",
  "'😀'", "'é'", "'\\\\'", "'x'.repeat(200)",
  'Symbol()', "Symbol('s')", "Symbol.iterator", "Symbol.for('reg')", "Symbol('with space')",
  // arrays
  '[]', '[1]', '[1, 2, 3]', "['a', 'b']", '[[1, [2, [3, [4, [5]]]]]]', '[, 1]', '[1, , 3]', '[, , ]', 'new Array(5)',
  '[undefined, null]', 'Array.from({ length: 30 }, (_, i) => i)', 'Array.from({ length: 101 }, (_, i) => i)',
  'Array.from({ length: 27 }, (_, i) => "s" + i)', "Object.assign([1, 2], { k: 'v' })", "Object.assign([], { '-1': 1 })",
  '[{ a: 1 }, { b: 2 }]', '[[]]', '[{}]', "['x'.repeat(100)]", 'Array.from({ length: 7 }, (_, i) => i * 1000)',
  '[1.5, -2, 3e10]', '[true, false]', '[1n, 2n]', '[Symbol("x")]', '[function f() {}]', '[() => 1]',
  // objects
  '({})', '({ a: 1 })', "({ a: 1, b: 'two', c: [3], d: { e: null } })", "({ 'key with space': 1 })", "({ 'a-b': 1, a_b: 2, $: 3 })",
  "({ 1: 'one', 2: 'two' })", "({ [Symbol('s')]: 1 })", "({ [Symbol()]: 'anon' })", "({ __proto__: null, x: 1 })",
  'Object.create(null)', '({ a: { b: { c: { d: { e: 1 } } } } })', '({ a: [{ b: [{ c: 1 }] }] })',
  "({ f() {}, g: function () {}, h: () => {}, async i() {}, *j() {} })", "({ get x() { return 1 } })", "({ set x(v) {} })",
  "({ get x() { return 1 }, set x(v) {} })", "Object.defineProperty({}, 'hidden', { value: 1, enumerable: false })",
  "Object.defineProperty({ v: 1 }, 'ro', { value: 2, enumerable: true, writable: false })",
  "(() => { const o = { a: 1 }; o.self = o; return o })()", "(() => { const a = [1]; a.push(a); return a })()",
  "(() => { const o = {}; o.x = { y: o }; return o })()", "(() => { const s = { n: 1 }; return { a: s, b: s } })()",
  "({ a: 'x'.repeat(80) })", "({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12, m: 13, n: 14, o: 15, p: 16, q: 17, r: 18, s: 19, t: 20, u: 21, v: 22, w: 23, x: 24, y: 25, z: 26 })",
  "({ longPropertyNameNumberOne: 'some value here', longPropertyNameNumberTwo: 'another value there', three: 3 })",
  "({ undefined: undefined, null: null })", "({ 'constructor': 1 })", "({ toString() { return 'x' } })",
  // class instances
  'new (class Foo {})()', 'new (class Foo { constructor() { this.a = 1 } })()', 'new (class {})()',
  'new (class Bar extends Array {})()', 'new (class Baz extends Map {})()', 'new (class Qux extends Set {})([1])',
  "new (class Tagged { get [Symbol.toStringTag]() { return 'T' } })()", "new (class E2 { constructor() { this.x = [1, 2] } })()",
  'Object.create({ inherited: 1 })', 'Object.create(Object.create(null))', 'Object.create(Array.prototype)',
  "(() => { function F() { this.v = 1 } return new F() })()", "(() => { function F() {} F.prototype = null; return new F() })()",
  // functions and classes
  'function f() {}', 'function () {}', '() => {}', 'async function af() {}', 'function* gen() {}', 'async function* ag() {}',
  'class A {}', 'class B extends Array {}', 'class {}', "Object.assign(function g() {}, { prop: 1 })", 'Math.max',
  "(() => { const f = function named() {}; Object.defineProperty(f, 'name', { value: 42 }); return f })()",
  "(() => { const f = () => {}; Object.defineProperty(f, 'name', { value: '' }); return f })()",
  'Function.prototype', 'Object', 'Array', 'Symbol', 'Map',
  // built-ins
  'new Date(0)', 'new Date(NaN)', 'new Date(1e12)', 'Object.assign(new Date(0), { x: 1 })',
  '/re/g', '/a\\/b/i', 'new RegExp("")', 'Object.assign(/x/, { y: 1 })', '/[a-z]+/dgimsuy',
  'new Map()', "new Map([[1, 'a'], ['b', { c: 2 }]])", 'new Map([[{ k: 1 }, [1, 2]]])', 'new Set()', "new Set([1, 'a', [2]])",
  'new Set(Array.from({ length: 120 }, (_, i) => i))', 'new Map(Array.from({ length: 3 }, (_, i) => [i, i * i]))',
  'new WeakMap()', 'new WeakSet()', 'Promise.resolve(1)', 'Promise.reject(2).catch(() => {}) && Promise.resolve({ a: 1 })',
  'new Promise(() => {})', "(() => { const e = new Error('x'); e.stack = 'Error: x'; const p = Promise.reject(e); p.catch(() => {}); return p })()",
  'new ArrayBuffer(4)', 'new ArrayBuffer(0)', 'new Uint8Array([1, 2, 3])', 'new Int16Array(2)', 'new Float64Array([0.5, -1])',
  'new BigInt64Array([1n])', 'new Uint8Array(200)', 'new DataView(new ArrayBuffer(3))', 'new Uint8ClampedArray(1)',
  'new Float32Array([1.5])', 'Object.assign(new Uint8Array(2), { x: 1 })', 'new Uint8Array(new ArrayBuffer(8), 2, 3)',
  'new Number(5)', "new String('abc')", 'new Boolean(false)', 'Object(1n)', "Object(Symbol('b'))", "Object.assign(new Number(1), { a: 2 })",
  "Object.assign(new String('ab'), { x: 1 })", 'new Number(-0)',
  '[1, 2, 3].keys()', '[1, 2].entries()', "new Map([[1, 'a']]).keys()", "new Map([[1, 'a']]).values()", "new Map([[1, 'a']]).entries()",
  'new Set([1, 2]).values()', 'new Set([1]).entries()', "'ab'[Symbol.iterator]()", '(function* () { yield 1 })()',
  '(function () { return arguments })(1, 2)', '(function () { return arguments })()',
  'Math', 'JSON', 'Reflect', 'globalThis.Atomics || 0', 'Number.prototype', 'String.prototype', 'Array.prototype', 'Object.prototype',
  'Boolean.prototype', 'Map.prototype', 'Date.prototype', 'RegExp.prototype', 'Error.prototype', 'Promise.prototype',
  'new Proxy({ a: 1 }, {})', 'new Proxy([1, 2], {})', 'new Proxy(function p() {}, {})',
  "(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy })()",
  // errors without stack frames (stacks differ between engines)
  "(() => { const e = new Error('boom'); e.stack = 'Error: boom'; return e })()",
  "(() => { const e = new TypeError('bad'); e.stack = 'TypeError: bad'; return e })()",
  "(() => { const e = new RangeError('r'); e.stack = 'RangeError: r'; e.code = 'E_R'; return e })()",
  "(() => { const e = new Error('m'); e.stack = ''; return e })()",
  "(() => { const e = new Error('with cause', { cause: 'c' }); e.stack = 'Error: with cause'; return e })()",
  "(() => { const e = new Error('x'); e.stack = 'Error: x'; return { e } })()",
  "(() => { const e = new Error('x'); e.stack = 'Error: x'; e.name = 'Custom'; return e })()",
  "(() => { class MyErr extends Error {} const e = new MyErr('y'); e.stack = 'Error: y'; return e })()",
  "(() => { const e = new AggregateError([1], 'agg'); e.stack = 'AggregateError: agg'; return e })()",
  // long and nested layouts
  "Array.from({ length: 10 }, (_, i) => ({ id: i, name: 'item' + i }))", "{ a: Array.from({ length: 30 }, (_, i) => i * i) }",
  "Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i).repeat(i % 5 + 1))", "[[1, 2, [3, 4, [5, [6]]]], { x: { y: { z: {} } } }]",
  "({ arr: [[1, 2], [3, 4]], map: new Map([['k', new Set([1])]]) })", "new Map([[new Map([[1, 2]]), new Set([new Set([3])])]])",
  "Array.from({ length: 8 }, (_, i) => 'x'.repeat(i * 3))", "({ nested: { deeper: { deepest: { bottom: [1, 2, 3] } } } })",
  "['全角', '文字列', 'テスト', 'abc']", "Array.from({ length: 12 }, (_, i) => '漢'.repeat(i % 3 + 1))",
  "({ '日本': 1, 'ü': 2 })", "Array.from({ length: 16 }, (_, i) => -i * 1.5)",
];
for (const v of values) add(`[${v}]`);
// The same values nested one level in an object and in an array.
for (const v of values.slice(0, 120)) add(`[{ k: ${v} }]`);
for (const v of values.slice(0, 60)) add(`[[${v}, 'tail']]`);
// Several arguments: strings raw, the rest inspected.
for (const v of values.slice(0, 60)) add(`['label', ${v}]`);
// Format strings.
const fmts = [
  "['%s', 'str']", "['%s', 42]", "['%s', -0]", "['%s', 42n]", "['%s', null]", "['%s', undefined]", "['%s', Symbol('q')]",
  "['%s', { a: 1 }]", "['%s', [1, [2, [3]]]]", "['%s', new (class P { toString() { return 'custom' } })()]",
  "['%s', { toString() { return 'own' } }]", "['%s', function foo() { return 1 }]", "['%s', class K {}]", "['%s', Object.assign(new Error('e'), { stack: 'Error: e' })]",
  "['%s', new Date(0)]", "['%s', /x/]", "['%s', new Map([[1, 2]])]", "['%s', 'a', 'b']", "['%s']", "['%s %s', 'only']",
  "['%d', 42]", "['%d', '42']", "['%d', 4.5]", "['%d', -0]", "['%d', 42n]", "['%d', {}]", "['%d', new Number(5)]", "['%d', null]",
  "['%d', Symbol('x')]", "['%d', '0x10']", "['%d', '']", "['%d', true]",
  "['%i', 42.9]", "['%i', '-7.5']", "['%i', 42n]", "['%i', 'abc']", "['%i', Infinity]",
  "['%f', '3.5']", "['%f', 1]", "['%f', 'x']", "['%f', 1n]", "['%f', Symbol()]",
  "['%j', { a: [1, 'b'] }]", "['%j', 'str']", "['%j', undefined]", "['%j', { toJSON() { return 'tj' } }]",
  "['%j', (() => { const o = {}; o.o = o; return o })()]", "['%j', new Date(0)]", "['%j', [undefined, () => 1]]", "['%j', 1n === 1n]",
  "['%o', { a: 1 }]", "['%o', [1, 2]]", "['%o', 'str']", "['%o', function f() {}]", "['%o', { a: { b: { c: { d: { e: 1 } } } } }]",
  "['%O', { a: { b: { c: { d: 1 } } } }]", "['%O', 'str']", "['%O', [1, { a: 2 }]]",
  "['%c', 'color: red']", "['a%cb', 'css']", "['%%']", "['%% %s', 'x']", "['100%']", "['%x', 1]", "['%', 1]", "['%s%s', 'a', 'b']",
  "['%s:%d', 'n', 1, 'extra', { e: 1 }]", "['no format', 1, 'two', [3]]", "[1, '%s', 'x']", "['%s', '%s', 'x']",
  "['%d%%', 50]", "['%s', '']", "['', '']", "[]", "['%s', [,'hole']]", "['%s', Object.create(null)]", "['%s', { [Symbol.toPrimitive]() { return 'prim' } }]",
  "['%s', new (class Foo { constructor() { this.a = 1 } })()]", "['%s', new Number(3)]", "['%s', new String('boxed')]",
  "['%s', [function f() {}]]", "['%s', { f() {} }]", "['%i', new Number(7.7)]", "['%f', new Number(2.5)]",
];
for (const f of fmts) add(f);
// Later additions: partly consumed and empty Map/Set iterators (Node previews what is left),
// typed-array and collection subclasses, `%o` (hidden properties) on more shapes.
const more = [
  "[(() => { const it = new Map([[1, 'a'], [2, 'b']]).keys(); it.next(); return it })()]",
  "[(() => { const it = new Set([1, 2, 3]).values(); it.next(); it.next(); return it })()]",
  "[(() => { const it = new Set([1]).values(); it.next(); it.next(); return it })()]",
  "[new Map().entries()]", "[new Set(['x', { y: [1] }]).entries()]", "[{ it: new Map([['k', [1, 2]]]).values() }]",
  "[new Map(Array.from({ length: 120 }, (_, i) => [i, 'v' + i])).keys()]",
  "[new (class MyBytes extends Uint8Array {})(2)]", "[new (class MyMap extends Map {})([[1, 2]])]",
  "[new (class MyList extends Array {})(1, 2)]", "[Object.assign(new (class MySet extends Set {})(), { tag: 1 })]",
  "['%o', [1, [2, 3]]]", "['%o', { a: [1], s: 'x' }]", "['%o', new Map([[1, { b: 2 }]])]", "['%o', new Set([[1]])]",
  "['%o', Object.defineProperty({ v: 1 }, 'hid', { value: 2 })]", "['%o', null]", "['%o', 42]", "['%o', [[]]]",
  "['%o', { nested: { deeper: { deepest: { bottom: { end: 1 } } } } }]", "['%o %o', [1], 'x']",
];
for (const m of more) add(m);
module.exports = cases;
