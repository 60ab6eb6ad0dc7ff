enum Key { A = "a", B = "b" }
const table: Record<Key, number> = { [Key.A]: 1, [Key.B]: 2 };
console.log(table.a + table.b, JSON.stringify(table));
table
