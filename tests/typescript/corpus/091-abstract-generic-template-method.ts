abstract class Pipeline<I, O> {
  protected abstract step(i: I): O;
  run(xs: I[]): O[] { return xs.map((x) => this.step(x)); }
}
class Len extends Pipeline<string, number> { protected step(s: string) { return s.length; } }
console.log(new Len().run(["a", "bb", "ccc"]).join());
new Len().run(["four"])
