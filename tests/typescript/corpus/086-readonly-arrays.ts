const xs: readonly number[] = [3, 1, 2];
const ys: ReadonlyArray<number> = [...xs].sort();
console.log(ys.join(), xs.join());
ys
