"""The public API: one-shot runs, reports, persistent sandboxes, scripts, errors, the tool."""

import json

import pytest

import sandvm


def test_run_returns_the_completion_value():
    assert sandvm.run("[1, 2, 3].map(x => x * 2)") == [2, 4, 6]
    assert sandvm.run("({a: 1, b: [true, null, 'x']})") == {"a": 1, "b": [True, None, "x"]}
    assert sandvm.run("undefined") is None
    assert sandvm.run("0.5 + 1") == 1.5


def test_run_with_globals_and_async_completion():
    assert sandvm.run("order.items.reduce((s, i) => s + i.price * i.qty, 0)",
                      globals={"order": {"items": [{"price": 9.5, "qty": 2}]}}) == 19
    assert sandvm.run("(async () => 6 * 7)()") == 42


def test_execute_reports_never_raise_for_guest_errors():
    ok = sandvm.execute("console.log('hi', 1); console.error('bad'); [1, 2]")
    assert ok.status == "ok" and ok.ok and ok.error is None
    assert ok.value == [1, 2] and ok.display == "[ 1, 2 ]"
    assert ok.console == [{"level": "log", "text": "hi 1"}, {"level": "error", "text": "bad"}]
    assert set(ok.stats) == {"wall_ms", "cpu_ms", "heap_bytes"}
    bad = sandvm.execute("null.x")
    assert bad.status == "error" and bad.value is None and bad.display == ""
    assert bad.error["kind"] == "exception" and bad.error["name"] == "TypeError"
    assert bad.to_dict()["error"]["line"] == 1
    spin = sandvm.execute("for (;;) {}", timeout=0.05)
    assert spin.error["kind"] == "timeout"


def test_guest_errors_raise_the_hierarchy():
    with pytest.raises(sandvm.GuestError) as e:
        sandvm.run("\n  throw new RangeError('nope')")
    assert e.value.kind == "exception" and e.value.name == "RangeError" and e.value.message == "nope"
    assert e.value.line == 2 and e.value.column is not None and "at " in e.value.stack
    assert isinstance(e.value, sandvm.SandboxError)
    with pytest.raises(sandvm.GuestError) as e:
        sandvm.run("throw 42")
    assert e.value.name is None
    with pytest.raises(sandvm.GuestSyntaxError) as e:
        sandvm.run("let x = ;")
    assert e.value.kind == "syntax" and e.value.line == 1
    with pytest.raises(sandvm.TimeoutError) as e:
        sandvm.run("while (true) {}", timeout=0.05)
    assert isinstance(e.value, TimeoutError) and e.value.kind == "timeout"
    with pytest.raises(sandvm.MemoryLimitError):
        sandvm.run("let a = []; for (;;) a.push(new Array(1e5).fill(1))", memory_mb=8)
    with pytest.raises(sandvm.StackOverflowError):
        sandvm.run("function f() { return f() + 1 } f()")
    with pytest.raises(sandvm.OutputLimitError):
        sandvm.run("for (;;) console.log('x'.repeat(1000))")


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        sandvm.run("1", timeout=-1)
    with pytest.raises(ValueError):
        sandvm.run("1", memory_mb=0)
    with pytest.raises(ValueError):
        sandvm.run("1", capabilities=["fs"])
    with pytest.raises(TypeError):
        sandvm.run("1", capabilities="timers")
    with pytest.raises(TypeError):
        sandvm.run("1", globals={"x": object()})


def test_capabilities_freeze_and_determinism():
    assert sandvm.run("typeof setTimeout") == "undefined"
    assert sandvm.run("new Promise(r => setTimeout(() => r('later'), 5))", capabilities=["timers"]) == "later"
    assert sandvm.run("Object.isFrozen(Array.prototype)", freeze=True) is True
    a = sandvm.run("[Math.random(), Date.now()]", deterministic=7)
    assert a == sandvm.run("[Math.random(), Date.now()]", deterministic=7)
    assert a[1] == 0
    assert a != sandvm.run("[Math.random(), Date.now()]", deterministic=8)


def test_sandbox_keeps_state_between_runs():
    with sandvm.Sandbox() as sb:
        sb.run("var n = 1; let m = 2; function inc() { return ++n }")
        assert sb.run("inc() + m") == 4
        sb.set_global("config", {"rate": 0.25})
        assert sb.run("config.rate * 4") == 1
        assert sb.call("inc") == 3
        assert sb.execute("n").value == 3
        assert sb.stats["heap_bytes"] > 0 and sb.stats["wall_ms"] >= 0
    assert sb.closed
    with pytest.raises(sandvm.SandboxError):
        sb.run("1")


def test_sandbox_state_is_rebuilt_after_a_limit():
    sb = sandvm.Sandbox(timeout=0.05)
    sb.set_global("x", 5)
    sb.expose("twice", lambda v: v * 2)
    with pytest.raises(sandvm.TimeoutError):
        sb.run("for (;;) {}")
    # The engine was replaced: guest state is gone, host-given globals and functions stay.
    assert sb.run("twice(x)") == 10
    sb.close()


def test_expose_python_functions():
    sb = sandvm.Sandbox()
    seen = []

    def record(*args):
        seen.append(args)
        return {"got": len(args)}

    sb.expose("record", record)
    assert sb.run("record(1, 'a', [true], {k: null}).got") == 4
    assert seen == [(1, "a", [True], {"k": None})]

    def fails(_):
        raise ValueError("secret path /etc/x")

    sb.expose("fails", fails)
    r = sb.run("try { fails(1) } catch (e) { [e instanceof Error, e.message, typeof e.__traceback__] }")
    assert r == [True, "ValueError: secret path /etc/x", "undefined"]
    sb.expose("returns_object", lambda: object())
    with pytest.raises(sandvm.GuestError) as e:
        sb.run("returns_object()")
    assert "cannot be copied" in e.value.message
    with pytest.raises(TypeError):
        sb.expose("nope", 3)
    sb.close()


def test_async_function_exposed_to_a_sync_run_is_an_error():
    sb = sandvm.Sandbox()

    async def later():
        return 1

    sb.expose("later", later)
    with pytest.raises(sandvm.GuestError) as e:
        sb.run("later()")
    assert "async" in e.value.message
    sb.close()


def test_scripts_and_cached_data():
    sb = sandvm.Sandbox()
    sb.set_global("x", 20)
    script = sb.compile("x + 1", filename="add.js")
    assert script.filename == "add.js"
    assert script.run(sb) == 21
    data = script.cached_data
    assert isinstance(data, bytes) and len(data) > 32
    again = sb.compile("x + 1", cached_data=data)
    assert again.run(sb) == 21
    other = sandvm.Sandbox()
    other.set_global("x", 1)
    assert script.run(other) == 2
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0xFF
    with pytest.raises(sandvm.SandboxError) as e:
        sb.compile("x + 1", cached_data=bytes(tampered))
    assert e.value.kind == "cached_data_rejected"
    with pytest.raises(sandvm.SandboxError) as e:
        sb.compile("x + 2", cached_data=data)  # bytes of another source
    assert e.value.kind == "cached_data_rejected"
    with pytest.raises(sandvm.GuestSyntaxError):
        sb.compile("let = ;")
    sb.close()
    other.close()


def test_tool_schema_and_handle():
    schema = sandvm.tools.SCHEMA
    assert schema["name"] == "run_javascript"
    assert schema["parameters"]["required"] == ["code"]
    json.dumps(schema)
    out = sandvm.tools.handle({"code": "console.log('sum'); [1,2,3].reduce((a, b) => a + b)"})
    assert out["ok"] and out["value"] == 6 and out["console"] == [{"level": "log", "text": "sum"}]
    json.dumps(out)
    out = sandvm.tools.handle(json.dumps({"code": "for(;;){}", "timeout_ms": 20}))
    assert not out["ok"] and out["error"]["kind"] == "timeout"
    out = sandvm.tools.handle('{"code": "JSON.parse(\'{\')"}')
    assert out["error"]["name"] == "SyntaxError"
    for bad in ["not json", "[1]", {"code": 1}, {"code": "1", "timeout_ms": 10**9}, {"code": "1", "timeout_ms": True}]:
        out = sandvm.tools.handle(bad)
        assert out["error"]["kind"] == "invalid_arguments", bad
    out = sandvm.tools.handle({"code": "for (let i = 0; i < 500; i++) console.log(i); 'x'.repeat(10000)"})
    assert len(out["console"]) == sandvm.tools.MAX_CONSOLE_ENTRIES and out["console_truncated"] == 400
    assert len(out["display"]) < 5000


def test_pool_runs_jobs_for_tenants():
    with sandvm.Pool(workers=2, tenants=["a", "b"]) as pool:
        assert pool.run("x * 2", tenant="a", globals={"x": 21}) == 42
        r = pool.execute("console.log('hi'); 1 + 1", tenant="b")
        assert r.ok and r.value == 2 and r.console[0]["text"] == "hi"
        assert pool.execute("for(;;){}", tenant="a", timeout=0.05).error["kind"] == "timeout"
        with pytest.raises(sandvm.GuestError):
            pool.run("throw new Error('x')", tenant="a")
        with pytest.raises(sandvm.SandboxError) as e:
            pool.run("1", tenant="nobody")
        assert e.value.kind == "unknown_tenant"
        pool.run("var count = 1", tenant="a", context="c1")
        assert pool.run("++count", tenant="a", context="c1") == 2
        stats = pool.stats()
        assert stats["workers"] == 2 and stats["runs"] >= 5 and stats["tenants"]["a"]["submitted"] >= 4
    with pytest.raises(ValueError):
        sandvm.Pool(isolation="process")
    with pytest.raises(ValueError):
        sandvm.Pool(isolation="vm")
