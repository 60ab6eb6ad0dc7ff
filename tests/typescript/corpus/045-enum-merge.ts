enum E { A = 1 }
enum E { B = 2 }
console.log(E.A + E.B, E[2]);
E.B
