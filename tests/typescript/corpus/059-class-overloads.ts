class Fmt {
  format(x: number): string;
  format(x: string): string;
  format(x: number | string): string { return typeof x === "number" ? x.toFixed(2) : x.trim(); }
}
const f = new Fmt();
console.log(f.format(1.5), f.format("  a "));
f.format(2)
