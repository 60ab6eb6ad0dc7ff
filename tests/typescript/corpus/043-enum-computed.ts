enum Bits { A = 1 << 0, B = 1 << 1, C = A | B, D = "abc".length }
console.log(Bits.A, Bits.B, Bits.C, Bits.D);
Bits.C
