// Unit $N of a typical TypeScript file: interfaces, generics, enums, classes, narrowing.
interface Item$N<T> {
  id: number;
  name: string;
  tags?: readonly string[];
  payload: T;
}
type Result$N<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };
enum Level$N { Low = 1, Mid, High }
export class Store$N<T extends { id: number }> {
  private items = new Map<number, T>();
  constructor(public readonly label: string, protected limit: number = 100) {}
  add(item: T): Result$N<T> {
    if (this.items.size >= this.limit) return { ok: false, error: new Error("full") };
    this.items.set(item.id, item);
    return { ok: true, value: item };
  }
  find(pred: (t: T) => boolean): T | undefined {
    for (const t of this.items.values()) if (pred(t)) return t;
    return undefined;
  }
}
function level$N(n: number): Level$N {
  return n > 10 ? Level$N.High : n > 5 ? Level$N.Mid : Level$N.Low;
}
const store$N = new Store$N<Item$N<string>>("s$N");
store$N.add({ id: 1, name: "a", payload: "x" } satisfies Item$N<string>);
export const found$N = store$N.find((i) => i.name === "a")!.payload as string;
