const delays: Promise<number>[] = [1, 2, 3].map((n) => Promise.resolve(n * 10));
Promise.all(delays).then((vs: number[]) => { console.log(vs.join()); return vs.reduce((a, b) => a + b); })
