class Countdown implements Iterable<number> {
  constructor(private from: number) {}
  *[Symbol.iterator](): Iterator<number> { for (let i = this.from; i > 0; i--) yield i; }
}
console.log([...new Countdown(3)].join());
Array.from(new Countdown(2))
