const lt = <T,>(a: T, b: T) => a < b;
const x = 1, y = 2;
console.log(lt(x, y), x < y, y > x);
lt("b", "a")
