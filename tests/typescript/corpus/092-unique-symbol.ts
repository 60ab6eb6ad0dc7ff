const tag: unique symbol = Symbol("tag");
const o = { [tag]: 1, plain: 2 };
console.log(o[tag], Object.keys(o).join());
o.plain
