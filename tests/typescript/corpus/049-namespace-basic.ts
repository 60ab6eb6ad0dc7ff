namespace MathX {
  export const PI2 = Math.PI * 2;
  export function sq(x: number) { return x * x; }
  const hidden = 1;
}
console.log(MathX.sq(4), typeof (MathX as any).hidden);
MathX.sq(3)
