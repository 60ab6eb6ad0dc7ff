function build(n: number) { return n + build.offset; }
namespace build { export const offset = 100; }
console.log(build(1));
build(2)
