interface HasArea { readonly area: number }
class Circle implements HasArea { constructor(private r: number) {} get area() { return Math.round(3.14159 * this.r * this.r); } }
const shapes: HasArea[] = [new Circle(1), new Circle(2)];
console.log(shapes.map((s) => s.area).join());
shapes[1].area
