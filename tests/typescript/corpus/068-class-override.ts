class A { hello(): string { return "A"; } }
class B extends A { override hello(): string { return "B" + super.hello(); } }
console.log(new B().hello());
new B().hello()
