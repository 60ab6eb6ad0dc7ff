const m = new Map<string, Set<number>>();
for (const [k, v] of [["a", 1], ["a", 2], ["b", 3]] as [string, number][]) {
  if (!m.has(k)) m.set(k, new Set<number>());
  m.get(k)!.add(v);
}
console.log([...m].map(([k, s]) => `${k}:${[...s].join("|")}`).join(" "));
m.size
