class Registry {
  static count: number = 0;
  private static items: string[] = [];
  static add(s: string): number { Registry.items.push(s); return ++Registry.count; }
}
Registry.add("a");
console.log(Registry.add("b"), Registry.count);
Registry.count
