interface Base { id: number }
interface Full extends Base { name: string; extra?: boolean }
const base: Base = { id: 1 };
const full: Full = { ...base, name: "n" };
const { id, ...rest }: Full = full;
console.log(id, JSON.stringify(rest));
rest
