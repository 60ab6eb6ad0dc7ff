class Repo<T extends { id: number }> {
  protected rows = new Map<number, T>();
  save(r: T): T { this.rows.set(r.id, r); return r; }
}
class UserRepo extends Repo<{ id: number; name: string }> {
  names(): string[] { return [...this.rows.values()].map((r) => r.name); }
}
const r = new UserRepo();
r.save({ id: 1, name: "a" }); r.save({ id: 2, name: "b" });
console.log(r.names().join());
r.names()
