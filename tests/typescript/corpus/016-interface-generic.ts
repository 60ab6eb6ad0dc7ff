interface Pair<K, V> { key: K; value: V }
const kv: Pair<string, number>[] = [{ key: "a", value: 1 }, { key: "b", value: 2 }];
console.log(kv.map(({ key, value }) => key + value).join());
kv.length
