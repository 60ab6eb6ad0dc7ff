"""sandvm vs mini-racer (V8) vs dukpy (Duktape) from Python: same workloads, per op.

Run with `bash bench/python/run.sh` (makes a venv, installs the three, writes results.md).
Each figure is the median of several timed batches; memory per live context is measured in a
fresh subprocess per engine (RSS growth over 200 live contexts).
"""

import json
import os
import statistics
import subprocess
import sys
import time

WARM = "[1,2,3].map(v=>v*2).reduce((a,b)=>a+b)"
FIB = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }"
SMALL = {"name": "Ada", "qty": 3, "price": 9.5}
DOC = {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "price": i * 1.5, "ok": i % 2 == 0} for i in range(120)]}
DOC_BYTES = len(json.dumps(DOC))


def per_op(fn, min_time=0.3, batches=5):
    """Median seconds per call over `batches` batches of about min_time/batches each."""
    fn()
    n, t0 = 1, time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / batches / one))
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def engines():
    import dukpy
    import sandvm
    from py_mini_racer import MiniRacer

    def sandvm_set():
        sb = sandvm.Sandbox(timeout=None)
        sb.run(FIB + "; function f(o) { return o.qty * o.price } function id(d) { return d }")
        return {
            "fresh context + `1+1`": lambda: sandvm.run("1+1"),
            "warm eval": lambda: sb.run(WARM),
            "call a JS function with a small dict": lambda: sb.call("f", SMALL),
            f"{DOC_BYTES // 1024} KB JSON in and out": lambda: sb.call("id", DOC),
            "fib(27)": lambda: sb.run("fib(27)"),
        }

    def racer_set():
        mr = MiniRacer()
        mr.eval(FIB + "; function f(o) { return o.qty * o.price } function id(d) { return d }")

        def fresh():
            m = MiniRacer()
            m.eval("1+1")
            m.close()

        return {
            "fresh context + `1+1`": fresh,
            "warm eval": lambda: mr.eval(WARM),
            "call a JS function with a small dict": lambda: mr.call("f", SMALL),
            f"{DOC_BYTES // 1024} KB JSON in and out": lambda: mr.call("id", DOC),
            "fib(27)": lambda: mr.eval("fib(27)"),
        }

    def duk_set():
        it = dukpy.JSInterpreter()
        it.evaljs(FIB + "; function f(o) { return o.qty * o.price }")
        return {
            "fresh context + `1+1`": lambda: dukpy.evaljs("1+1"),
            "warm eval": lambda: it.evaljs(WARM),
            "call a JS function with a small dict": lambda: it.evaljs("f(dukpy.o)", o=SMALL),
            f"{DOC_BYTES // 1024} KB JSON in and out": lambda: it.evaljs("dukpy.d", d=DOC),
            "fib(27)": lambda: it.evaljs("fib(27)"),
        }

    return {"sandvm": sandvm_set, "mini-racer": racer_set, "dukpy": duk_set}


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_per_context(engine, n=200):
    """Runs in a subprocess: KiB of RSS per live context (each has run one small eval)."""
    import gc

    if engine == "sandvm":
        import sandvm

        make = lambda: sandvm.Sandbox()  # noqa: E731
        use = lambda c: c.run("globalThis.x = [1, 2, 3].map(v => v * 2)")  # noqa: E731
    elif engine == "mini-racer":
        from py_mini_racer import MiniRacer

        make = MiniRacer
        use = lambda c: c.eval("globalThis.x = [1, 2, 3].map(v => v * 2)")  # noqa: E731
    else:
        import dukpy

        make = dukpy.JSInterpreter
        use = lambda c: c.evaljs("x = [1, 2, 3].map(function (v) { return v * 2 })")  # noqa: E731
    warm = [make() for _ in range(5)]
    for c in warm:
        use(c)
    gc.collect()
    base = rss_kib()
    live = []
    for _ in range(n):
        c = make()
        use(c)
        live.append(c)
    gc.collect()
    return (rss_kib() - base) / n


def fmt(s):
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        print(rss_per_context(sys.argv[2]))
        return
    rust = None
    if len(sys.argv) == 3 and sys.argv[1] == "--rust":
        out = subprocess.run([sys.argv[2]], capture_output=True, text=True, check=True)
        rust = json.loads(out.stdout)
    results = {}
    for name, build in engines().items():
        results[name] = {w: per_op(f, min_time=1.0 if "fib" in w else 0.3) for w, f in build().items()}
        print(name, {w: fmt(v) for w, v in results[name].items()}, file=sys.stderr)
    rss = {}
    for name in results:
        out = subprocess.run([sys.executable, __file__, "--rss", name], capture_output=True, text=True, check=True)
        rss[name] = float(out.stdout.strip())
    import dukpy  # noqa: F401
    import sandvm
    from importlib.metadata import version

    lines = [
        f"# sandvm from Python vs mini-racer and dukpy ({time.strftime('%Y-%m-%d')})",
        "",
        f"`bash bench/python/run.sh`, one run, same machine (2 shared cores, other builds running), "
        f"Python {sys.version.split()[0]}, sandvm {sandvm.__version__}, mini-racer {version('mini-racer')}, "
        f"dukpy {version('dukpy')}. Median per op; ratio = sandvm / peer (below 1: sandvm is faster or smaller).",
        "",
        "| workload | sandvm | mini-racer (V8) | dukpy (Duktape) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for w in results["sandvm"]:
        s = results["sandvm"][w]
        row = [w, fmt(s)]
        for peer in ("mini-racer", "dukpy"):
            p = results[peer][w]
            row.append(f"{fmt(p)} ({s / p:.2f})")
        lines.append("| " + " | ".join(row) + " |")
    s = rss["sandvm"]
    lines.append(
        f"| memory per live context (RSS) | {s:.0f} KiB | {rss['mini-racer']:.0f} KiB ({s / rss['mini-racer']:.2f}) "
        f"| {rss['dukpy']:.0f} KiB ({s / rss['dukpy']:.2f}) |"
    )
    if rust:
        lines += [
            "",
            "The binding's own cost: the same workloads through the same path in Rust (`sandvm::Executor`",
            "jobs waited on from the calling thread; `bindings/python/examples/rust_roundtrip_bench.rs`).",
            "",
            "| workload | from Python | from Rust | binding overhead |",
            "| --- | ---: | ---: | ---: |",
        ]
        keys = {"fresh": "fresh context + `1+1`", "warm": "warm eval", "call": "call a JS function with a small dict",
                "json": f"{DOC_BYTES // 1024} KB JSON in and out"}
        for k, w in keys.items():
            p, r = results["sandvm"][w], rust[k]
            lines.append(f"| {w} | {fmt(p)} | {fmt(r)} | {fmt(max(p - r, 0.0))} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
