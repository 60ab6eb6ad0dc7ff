class Temp {
  private _c = 0;
  get f(): number { return this._c * 9 / 5 + 32; }
  set f(v: number) { this._c = (v - 32) * 5 / 9; }
}
const t = new Temp();
t.f = 212;
console.log(t.f);
t.f
