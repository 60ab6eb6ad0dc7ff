const { a, b: [c, d] }: { a: number; b: [string, boolean] } = { a: 1, b: ["x", true] };
console.log(a, c, d);
[a, c, d]
