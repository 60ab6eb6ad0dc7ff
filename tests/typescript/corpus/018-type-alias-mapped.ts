type Flags<T> = { [K in keyof T]: boolean };
type Opts = { a: number; b: string };
const f: Flags<Opts> = { a: true, b: false };
console.log(Object.entries(f).length);
f
