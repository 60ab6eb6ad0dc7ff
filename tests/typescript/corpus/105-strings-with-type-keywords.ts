const s: string = "interface X { a: number } type Y = string; enum Z {}";
const t = `as any satisfies never ${s.length}`;
console.log(s.length, t.startsWith("as any"));
t.length
