enum Fruit { Apple, Pear, Plum }
const names = Object.keys(Fruit).filter((k) => isNaN(Number(k)));
console.log(names.join(" "));
names.length
