// sandvm run examples/typescript/app.ts — TypeScript runs as is: types are stripped, not checked.
interface LineItem {
  sku: string;
  qty: number;
  price: number;
}

type Currency = "EUR" | "USD";

enum Status {
  Open = "open",
  Paid = "paid",
}

namespace Tax {
  export const rate = 0.21;
  export function of(amount: number): number {
    return Math.round(amount * rate * 100) / 100;
  }
}

abstract class Document<T> {
  constructor(public readonly id: string, protected lines: T[] = []) {}
  abstract total(): number;
  add(line: T): this {
    this.lines.push(line);
    return this;
  }
}

class Invoice extends Document<LineItem> {
  status: Status = Status.Open;
  constructor(id: string, private currency: Currency = "EUR") {
    super(id);
  }
  total(): number {
    return this.lines.reduce((sum, l) => sum + l.qty * l.price, 0);
  }
  summary(): string {
    const net = this.total();
    return `${this.id}: ${net.toFixed(2)} + ${Tax.of(net).toFixed(2)} tax ${this.currency} (${this.status})`;
  }
}

function largest<T extends { qty: number }>(items: readonly T[]): T | undefined {
  return [...items].sort((a, b) => b.qty - a.qty)[0];
}

const invoice = new Invoice("INV-1")
  .add({ sku: "apple", qty: 3, price: 0.5 })
  .add({ sku: "pear", qty: 5, price: 0.75 } satisfies LineItem);
console.log(invoice.summary());
const big = largest([{ sku: "a", qty: 1 }, { sku: "b", qty: 4 }])!;
({ largest: big.sku, total: invoice.total() as number })
