interface Named { name: string }
interface Aged { age: number }
interface Person extends Named, Aged { email?: string }
const p: Person = { name: "Ada", age: 36 };
console.log(`${p.name} ${p.age}`);
p
