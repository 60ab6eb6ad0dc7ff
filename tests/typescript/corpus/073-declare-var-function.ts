declare const __BUILD__: string;
declare function externalFn(x: number): void;
declare let maybe: number | undefined;
const v = typeof __BUILD__ === "undefined" ? "dev" : __BUILD__;
console.log(v);
v
