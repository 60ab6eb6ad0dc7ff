const m = new Map<string, number>([["a", 1]]);
const v = m.get("a")!;
const arr: (number | null)[] = [1, null];
console.log(v + 1, arr[0]! * 3);
v!
