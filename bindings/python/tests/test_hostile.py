"""Hostile guests (the classes of the Rust hostile suite): each ends as a typed error inside the
sandbox, and nothing reaches the Python process."""

import os

import pytest

import sandvm

LIMIT_CASES = [
    ("for (;;) {}", "timeout"),
    ("while (true) { try { for (;;) {} } catch (e) {} }", "timeout"),
    ("(async () => { for (;;) await null })()", "timeout"),
    ("new Promise(() => {}).then(() => 1); (function loop() { Promise.resolve().then(loop) })()", "timeout"),
    ("/(a+)+$/.test('a'.repeat(40) + '!')", "timeout"),
    ("new Array(2**32 - 1).join('x')", "timeout"),  # a builtin the interrupt cannot stop
    ("let a = []; for (;;) a.push('x'.repeat(1e4) + a.length)", "memory_limit"),
    ("try { let a = []; for (;;) a.push(new Array(1e5).fill(0)) } catch (e) { 'swallowed' }", "memory_limit"),
    ("function f(n) { return f(n + 1) + 1 } f(0)", "stack_overflow"),
    ("for (;;) console.log('x'.repeat(1e5))", "output_limit"),
    ("new Promise(() => {})", "unsettled"),
]


@pytest.mark.parametrize("code,kind", LIMIT_CASES)
def test_limits_end_the_run_with_their_kind(code, kind):
    # Runs meant to time out get 0.2 s; the others get time to reach their own limit on a
    # loaded machine.
    r = sandvm.execute(code, timeout=0.2 if kind == "timeout" else 5, memory_mb=16)
    assert r.status == "error" and r.error["kind"] == kind, r


AMBIENT = [
    "typeof process", "typeof require", "typeof std", "typeof os", "typeof fetch",
    "typeof XMLHttpRequest", "typeof setTimeout", "typeof WebAssembly",
]


@pytest.mark.parametrize("expr", AMBIENT)
def test_no_ambient_capabilities(expr):
    assert sandvm.run(expr) == "undefined"


def test_imports_are_refused():
    for code in ["import('fs')", "import('/etc/passwd')", "import('file:///etc/passwd')"]:
        r = sandvm.execute(code)
        assert r.error["kind"] in ("module_not_allowed", "module_not_found"), r


def test_escape_attempts_see_only_the_guest_realm():
    # The constructor chain leads to the guest's own Function, never to Python.
    assert sandvm.run("this.constructor.constructor('return typeof process')()") == "undefined"
    sb = sandvm.Sandbox()
    sb.expose("host", lambda *a: list(a))
    probes = sb.run("""[
        typeof host.__class__, typeof host.__globals__, String(Object.getPrototypeOf(host) === Function.prototype),
        (() => { try { return host.constructor('return this')() === globalThis } catch (e) { return 'threw' } })(),
    ]""")
    assert probes == ["undefined", "undefined", "true", True]
    sb.close()


def test_prepare_stack_trace_and_hostile_values_stay_inside():
    r = sandvm.execute("Error.prepareStackTrace = () => { throw 1 }; null.x")
    assert r.status == "error" and r.error["kind"] == "exception"
    # Getters and toJSON run inside the sandbox, under its limits.
    r = sandvm.execute("({ toJSON() { for (;;) {} } })", timeout=0.1)
    assert r.error["kind"] == "timeout"
    r = sandvm.execute("({ get x() { throw new Error('getter') } })")
    assert r.status == "ok"
    r = sandvm.execute("const o = {}; o.self = o; o")
    assert r.status == "ok" and r.value is None and "Circular" in r.display


def test_hostile_values_passed_to_python_functions_are_copies():
    sb = sandvm.Sandbox(timeout=0.2)
    got = []
    sb.expose("take", lambda *a: got.append(a))
    sb.run("take(new Proxy({}, { get() { return 1 }, ownKeys() { return ['a'] }, getOwnPropertyDescriptor() { return { value: 1, enumerable: true, configurable: true } } }))")
    sb.run("const c = {}; c.c = c; try { take(c) } catch (e) {}")
    assert all(isinstance(x, (dict, list, type(None), int)) for args in got for x in args)
    r = sb.execute("take({ toJSON() { for (;;) {} } })")
    assert r.error["kind"] == "timeout"
    sb.close()


def test_prototype_pollution_does_not_leak_between_sandboxes():
    a, b = sandvm.Sandbox(), sandvm.Sandbox()
    a.run("Object.prototype.polluted = 1; Array.prototype.map = () => 'evil'")
    assert b.run("[({}).polluted, [1].map(x => x)]") == [None, [1]]
    a.close()
    b.close()


def test_the_process_is_alive_after_all_of_it():
    assert os.getpid() > 0 and sandvm.run("'still here'") == "still here"
