class Counter {
  accessor count: number = 0;
  accessor label = "clicks";
  bump(): number {
    this.count += 1;
    return this.count;
  }
}
const c = new Counter();
c.bump();
c.bump();
c.label = "taps";
console.log(c.label, c.count, Object.keys(c).length);
const d = Object.getOwnPropertyDescriptor(Counter.prototype, "count");
console.log(typeof d?.get, typeof d?.set);
[c.count, c.label]
