abstract class Base { abstract id(): string }
type Ctor = abstract new () => Base;
class Impl extends Base { id() { return "impl"; } }
const ctors: Ctor[] = [Impl];
console.log(ctors.length, new Impl().id());
new Impl().id()
