namespace Types { export interface T { a: number } export type U = string }
const t: Types.T = { a: 1 };
const u: Types.U = "u";
console.log(t.a, u);
t
