function wrap<T>(x: T): { v: T } { return { v: x }; }
const w = wrap<number>(5);
const ws = wrap<string>("s");
console.log(w.v + 1, ws.v);
w
