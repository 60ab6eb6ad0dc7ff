interface Dict { [key: string]: number }
const d: Dict = {};
for (const w of "a b a c b a".split(" ")) d[w] = (d[w] ?? 0) + 1;
console.log(JSON.stringify(d));
d
