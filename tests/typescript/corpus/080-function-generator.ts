function* range(n: number): Generator<number, void, unknown> { for (let i = 0; i < n; i++) yield i; }
console.log([...range(4)].join());
Array.from(range(3))
