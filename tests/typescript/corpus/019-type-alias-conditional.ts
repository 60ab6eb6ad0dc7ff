type ElementOf<T> = T extends readonly (infer U)[] ? U : never;
type N = ElementOf<number[]>;
const n: N = 3;
console.log(n * 2);
n
