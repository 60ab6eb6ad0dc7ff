abstract class Shape {
  abstract accessor sides: number;
  protected accessor scale = 1;
  describe(): string {
    return `${this.constructor.name} with ${this.sides} sides at x${this.scale}`;
  }
}
class Square extends Shape {
  override accessor sides = 4;
  grow(by: number): this {
    this.scale *= by;
    return this;
  }
}
class Cube extends Square {
  override get sides(): number { return super.sides * 3; }
}
console.log(new Square().grow(2).describe());
console.log(new Cube().describe());
new Cube().grow(3).describe()
