// A minimal stand-in for web-platform-tests' testharness.js (written for sandvm, not vendored):
// synchronous `test()` subtests, the assertions the vendored files use, and the helper of
// /common/sab.js. Each subtest is counted; the run ends with `[passed, total, failures]`.
const __results = { pass: 0, total: 0, fails: [] };
function format_value(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  try { return String(v); } catch (_) { return Object.prototype.toString.call(v); }
}
class AssertionError extends Error {}
function __fail(msg) { throw new AssertionError(msg); }
function test(fn, name) {
  __results.total++;
  try { fn({ step_func: (f) => f, add_cleanup() {} }); __results.pass++; }
  catch (e) { __results.fails.push(`${name}: ${e && e.message !== undefined ? e.message : String(e)}`); }
}
function subsetTest(testFunc, ...args) { return testFunc(...args); }
function setup(f) { if (typeof f === 'function') f(); }
function done() {}
function assert_true(v, d) { if (v !== true) __fail(`assert_true: ${format_value(v)} ${d || ''}`); }
function assert_false(v, d) { if (v !== false) __fail(`assert_false: ${format_value(v)} ${d || ''}`); }
function assert_equals(a, e, d) {
  if (!(Object.is(a, e) || (a === e && a !== 0))) __fail(`assert_equals: got ${format_value(a)}, expected ${format_value(e)} ${d || ''}`);
}
function assert_not_equals(a, e, d) { if (Object.is(a, e)) __fail(`assert_not_equals: ${format_value(a)} ${d || ''}`); }
function assert_array_equals(a, e, d) {
  if (a === null || typeof a !== 'object' || a.length !== e.length) __fail(`assert_array_equals: length ${a && a.length} != ${e.length} ${d || ''}`);
  for (let i = 0; i < e.length; i++) if (!Object.is(a[i], e[i])) __fail(`assert_array_equals: [${i}] ${format_value(a[i])} != ${format_value(e[i])} ${d || ''}`);
}
function assert_unreached(d) { __fail(`assert_unreached: ${d}`); }
function assert_throws_js(C, f, d) {
  try { f(); } catch (e) {
    if (!(e instanceof C) || e.constructor !== C) __fail(`assert_throws_js: threw ${e && e.name}, expected ${C.name} ${d || ''}`);
    return;
  }
  __fail(`assert_throws_js: did not throw ${d || ''}`);
}
function assert_throws(expected, f, d) { assert_throws_js(expected.constructor, f, d); }
function createBuffer(type, length, opts) { return new globalThis[type](length, opts); }
