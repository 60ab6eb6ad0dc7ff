function first<T>(xs: T[]): T | undefined { return xs[0]; }
function map<T, U>(xs: T[], f: (x: T) => U): U[] { return xs.map(f); }
console.log(first([3, 2, 1]), map([1, 2], (x) => x * 10).join());
map(["a"], (s) => s + "!")
