type Local = { v: number };
interface Local2 { w: string }
const l: Local = { v: 1 };
console.log(l.v);
l
