const Wrapper = class<T> { constructor(readonly v: T) {} get(): T { return this.v; } };
console.log(new Wrapper(5).get(), new Wrapper("s").get());
new Wrapper(true).get()
