declare namespace External { function f(): void; }
namespace Real { export let count = 0; export function inc() { return ++count; } }
Real.inc(); Real.inc();
console.log(Real.count);
Real.inc()
