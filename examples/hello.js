// Run with: cargo run --release -p sandvm-cli -- run examples/hello.js
const who = typeof name === 'string' ? name : 'world';
console.log(`hello, ${who}`);
const squares = [1, 2, 3, 4].map((n) => n * n);
({ squares, sum: squares.reduce((a, b) => a + b, 0) });
