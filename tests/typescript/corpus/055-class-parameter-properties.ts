class Point {
  constructor(public x: number, public readonly y: number, private z = 0) {}
  sum() { return this.x + this.y + this.z; }
}
const p = new Point(1, 2, 3);
console.log(p.x, p.y, p.sum());
p.sum()
