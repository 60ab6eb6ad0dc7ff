function box<T>(v: T) { return [v]; }
const numBox = box<number>;
console.log(numBox(3).length);
numBox(4)
