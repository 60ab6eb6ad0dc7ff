const double = (x: number): number => x * 2;
const pair = <T,>(a: T, b: T): [T, T] => [a, b];
console.log(double(21), pair("a", "b").join("+"));
pair(1, 2)
