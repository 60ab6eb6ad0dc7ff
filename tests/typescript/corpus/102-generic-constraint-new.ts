function create<T>(C: new () => T): T { return new C(); }
class Thing { v = 3 }
console.log(create(Thing).v);
create(Thing)
