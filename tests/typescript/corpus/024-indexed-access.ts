type Resp = { data: { items: { id: number }[] } };
type Item = Resp["data"]["items"][number];
const it: Item = { id: 42 };
console.log(it.id);
it
