type Deep = { a?: { b?: { c?: number } } };
const d: Deep = { a: { b: { c: 5 } } };
const e: Deep = {};
console.log(d.a?.b?.c, e.a?.b?.c ?? "none");
d.a?.b?.c
