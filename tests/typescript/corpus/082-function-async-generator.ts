async function* gen(): AsyncGenerator<number> { yield 1; yield 2; }
async function collect(): Promise<number[]> { const out: number[] = []; for await (const x of gen()) out.push(x); return out; }
collect().then((xs) => { console.log(xs.join()); return xs; })
