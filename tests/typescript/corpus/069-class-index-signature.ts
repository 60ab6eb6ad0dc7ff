class Bag { [key: string]: unknown; size = 0 }
const b = new Bag();
b["x"] = 1;
console.log(Object.keys(b).sort().join());
b.size
