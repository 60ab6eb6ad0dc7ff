function assertIsString(v: unknown): asserts v is string {
  if (typeof v !== "string") throw new TypeError("not a string");
}
const x: unknown = "ok";
assertIsString(x);
try { assertIsString(3); } catch (e) { console.log((e as Error).name); }
x.toUpperCase()
