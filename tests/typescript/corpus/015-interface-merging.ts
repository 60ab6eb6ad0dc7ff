interface Box { w: number }
interface Box { h: number }
const b: Box = { w: 2, h: 3 };
console.log(b.w * b.h);
b
