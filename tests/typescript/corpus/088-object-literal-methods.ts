const calc = {
  total: 0 as number,
  add(this: { total: number }, n: number) { this.total += n; return this; },
};
calc.add(2).add(3);
console.log(calc.total);
calc.total
