interface Msg { id: number; body: string }
const text = JSON.stringify({ id: 1, body: "hi" } satisfies Msg);
const msg = JSON.parse(text) as Msg;
console.log(msg.id, msg.body);
msg
