import asyncio, sandvm

print(sandvm.run("[1, 2, 3].map(x => x * 2)"))                 # [2, 4, 6]
with sandvm.Sandbox(timeout=0.5, memory_mb=32) as sb:
    sb.set_global("order", {"items": [{"price": 9.5, "qty": 2}]})
    sb.expose("vat", lambda n: round(n * 1.21, 2))              # a Python function, called by the guest
    print(sb.run("vat(order.items.reduce((s, i) => s + i.price * i.qty, 0))"))   # 22.99
    async def main(): return await sb.run_async("'the event loop kept running'")
    print(asyncio.run(main()))
    try: sb.run("for (;;) {}")
    except sandvm.TimeoutError as e: print("stopped:", e.kind)  # stopped: timeout
