type Op = (a: number, b: number) => number;
const ops: Record<string, Op> = { add: (a, b) => a + b, mul: (a, b) => a * b };
console.log(Object.keys(ops).map((k) => `${k}=${ops[k](3, 4)}`).join(" "));
ops.mul(6, 7)
