type Concat<A extends unknown[], B extends unknown[]> = [...A, ...B];
const c: Concat<[number], [string, boolean]> = [1, "a", true];
console.log(c.length, typeof c[1]);
c
