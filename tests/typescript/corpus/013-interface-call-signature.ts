interface Counter { (start: number): number; step: number }
const c = ((s: number) => s + c.step) as Counter;
c.step = 5;
console.log(c(10));
c(1)
