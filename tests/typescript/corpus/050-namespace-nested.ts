namespace A.B.C { export const deep = "yes"; }
namespace A { export const top = 1; }
console.log(A.B.C.deep, A.top);
A.B.C.deep
