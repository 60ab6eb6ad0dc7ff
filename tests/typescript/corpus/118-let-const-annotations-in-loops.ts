const out: string[] = [];
for (const [i, ch] of [..."abc"].entries() as IterableIterator<[number, string]>) out.push(`${i}${ch}`);
for (let k: number = 0; k < 2; k++) out.push(String(k));
console.log(out.join(","));
out.length
