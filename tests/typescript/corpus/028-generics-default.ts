interface Resp<T = string> { body: T }
const a: Resp = { body: "text" };
const b: Resp<number[]> = { body: [1, 2] };
console.log(a.body, b.body.length);
[a, b]
