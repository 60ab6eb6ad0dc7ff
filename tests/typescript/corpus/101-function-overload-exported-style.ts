function pick(x: number): "num";
function pick(x: string): "str";
function pick(x: any): string { return typeof x === "number" ? "num" : "str"; }
console.log(pick(1), pick("s"));
[pick(2), pick("t")]
