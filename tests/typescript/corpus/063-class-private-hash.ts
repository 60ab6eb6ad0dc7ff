class Counter {
  #count: number = 0;
  inc(): number { return ++this.#count; }
  static isCounter(o: unknown): boolean { return typeof o === "object" && o !== null && #count in o; }
}
const c = new Counter();
c.inc();
console.log(c.inc(), Counter.isCounter(c), Counter.isCounter({}));
c.inc()
