const raw: unknown = { n: 5 };
const obj = raw as { n: number };
const len = ("hello" as string).length;
console.log(obj.n + len);
(obj.n as number) * 2
