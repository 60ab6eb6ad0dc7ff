class Singleton {
  private static inst?: Singleton;
  protected constructor(public readonly id: number) {}
  static get(): Singleton { return (Singleton.inst ??= new Singleton(1)); }
}
console.log(Singleton.get() === Singleton.get(), Singleton.get().id);
Singleton.get().id
