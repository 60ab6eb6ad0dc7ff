function len(x: string): number;
function len(x: unknown[]): number;
function len(x: string | unknown[]): number { return x.length; }
console.log(len("abc"), len([1, 2]));
len("hello")
