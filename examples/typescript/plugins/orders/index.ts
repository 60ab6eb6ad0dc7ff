import { kvGet, kvSet } from "sandvm:host";
import { total, type Line } from "./money.ts";

enum Event {
  Created = "order.created",
  Refunded = "order.refunded",
}

type Order = { id: string; lines: Line[] };

export function onEvent(name: string, order: Order): { id: string; revenue: number } {
  const revenue = (kvGet("revenue") as number | undefined) ?? 0;
  const delta = total(order.lines) * (name === Event.Refunded ? -1 : 1);
  if (revenue + delta < 0) {
    throw new RangeError(`refund of ${order.id} is more than the revenue`);
  }
  kvSet("revenue", revenue + delta);
  return { id: order.id, revenue: revenue + delta };
}
