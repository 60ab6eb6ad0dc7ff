namespace Shapes { export enum Kind { Circle = "c", Square = "s" } }
console.log(Shapes.Kind.Circle, Shapes.Kind.Square);
Shapes.Kind.Square
