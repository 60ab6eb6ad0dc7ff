declare class Ext { m(): void }
declare module "lib" { export const x: number; }
declare global { interface Window { foo: string } }
console.log("ambient ok");
1
