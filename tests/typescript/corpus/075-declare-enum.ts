declare enum Ambient { A, B }
enum Real_ { A = 3 }
console.log(Real_.A);
Real_.A
