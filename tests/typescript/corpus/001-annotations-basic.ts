let n: number = 40;
const s: string = "two";
function add(a: number, b: number): number { return a + b; }
console.log(add(n, 2), s);
add(1, 1)
