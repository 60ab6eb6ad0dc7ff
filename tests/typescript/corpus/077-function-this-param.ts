interface Ctx { base: number }
function addBase(this: Ctx, n: number): number { return this.base + n; }
console.log(addBase.call({ base: 10 }, 5));
addBase.call({ base: 1 }, 1)
