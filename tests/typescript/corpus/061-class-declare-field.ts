class Base { value: number = 1 }
class Derived extends Base { declare value: number; double() { return this.value * 2; } }
console.log(new Derived().double());
new Derived().value
