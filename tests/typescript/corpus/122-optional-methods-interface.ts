interface Plugin { name: string; init?(): string }
const ps: Plugin[] = [{ name: "a", init: () => "ready" }, { name: "b" }];
console.log(ps.map((p) => p.init?.() ?? "skip").join());
ps.length
