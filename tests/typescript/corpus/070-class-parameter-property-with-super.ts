class Animal { constructor(public name: string) {} }
class Dog extends Animal {
  constructor(name: string, public breed: string) { super(name); }
  describe() { return `${this.name} (${this.breed})`; }
}
console.log(new Dog("Rex", "lab").describe());
new Dog("a", "b").breed
