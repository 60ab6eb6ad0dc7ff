type Handler = ((x: number) => number) | undefined;
const h1: Handler = (x) => x + 1;
const h2: Handler = undefined;
console.log(h1?.(1), h2?.(1));
h1?.(41)
