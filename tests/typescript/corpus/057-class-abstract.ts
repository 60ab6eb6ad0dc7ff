abstract class Shape {
  abstract area(): number;
  describe(): string { return `${this.constructor.name}:${this.area()}`; }
}
class Sq extends Shape { constructor(private s: number) { super(); } area() { return this.s ** 2; } }
console.log(new Sq(3).describe());
new Sq(2).area()
