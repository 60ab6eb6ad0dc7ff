namespace Geometry { export namespace Vec { export const zero = [0, 0]; } }
import Vec = Geometry.Vec;
console.log(Vec.zero.join());
Vec.zero
