const big: bigint = 2n ** 64n;
const s: string = big.toString();
console.log(s);
s.length
