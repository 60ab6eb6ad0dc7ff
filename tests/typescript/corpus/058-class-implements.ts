interface Greeter { greet(): string }
interface Named { name: string }
class Person implements Greeter, Named {
  constructor(public name: string) {}
  greet() { return "hi " + this.name; }
}
console.log(new Person("Bo").greet());
new Person("Al").name
