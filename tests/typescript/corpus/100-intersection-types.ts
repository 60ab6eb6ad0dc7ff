type A = { a: number };
type B = { b: string };
const ab: A & B = { a: 1, b: "x" };
function merge<T extends object, U extends object>(t: T, u: U): T & U { return { ...t, ...u }; }
console.log(merge(ab, { c: true }));
merge({ x: 1 }, { y: 2 })
