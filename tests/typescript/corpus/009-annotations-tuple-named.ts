type Range = [start: number, end?: number];
const r: Range = [1];
const r2: Range = [1, 5];
console.log(r.length, r2.length);
r2
