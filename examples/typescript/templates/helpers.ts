// sandvm template render examples/typescript/templates/invoice.hbs \
//   --data examples/typescript/templates/invoice.json --helpers examples/typescript/templates/helpers.ts
// A TypeScript helpers file: types are stripped on the host (not checked), then it runs in the sandbox.
interface Money {
  cents: number;
  currency: "EUR" | "USD";
}

const symbols: Record<Money["currency"], string> = { EUR: "€", USD: "$" };

function money(m: Money): string {
  return `${symbols[m.currency]}${(m.cents / 100).toFixed(2)}`;
}

module.exports = {
  money: (m: Money): string => money(m),
  upper: (s: string): string => String(s).toUpperCase(),
};
