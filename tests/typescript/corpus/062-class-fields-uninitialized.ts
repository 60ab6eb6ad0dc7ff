class C { a: number; b = 2; constructor() { this.a = 1; } }
const c = new C();
console.log(Object.keys(c).join(), c.a + c.b);
Object.keys(c)
