// sandvm test examples/typescript/tests — test files in TypeScript.
interface Item {
  price: number;
  qty: number;
}
const total = (items: Item[]): number => items.reduce((s, i) => s + i.price * i.qty, 0);

describe("total", () => {
  it("adds line items", () => {
    expect(total([{ price: 2, qty: 3 }, { price: 1.5, qty: 2 }] satisfies Item[])).toBe(9);
  });
  it("is 0 for no items", () => {
    expect(total([] as Item[])).toBe(0);
  });
});
