function fail(msg: string): never { throw new Error(msg); }
function check(x: unknown): string {
  if (typeof x === "string") return x.toUpperCase();
  if (typeof x === "number") return x.toFixed(1);
  return "other";
}
try { fail("boom"); } catch (e) { console.log((e as Error).message); }
[check("a"), check(2), check(null)]
