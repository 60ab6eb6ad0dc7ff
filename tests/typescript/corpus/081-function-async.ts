async function wait<T>(v: T): Promise<T> { return v; }
async function main(): Promise<number> {
  const a = await wait(20);
  const b = await wait<number>(22);
  console.log("sum", a + b);
  return a + b;
}
main()
