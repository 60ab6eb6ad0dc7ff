type Animal = "cat" | "dog";
function sound(a: Animal): string {
  switch (a) {
    case "cat": return "meow";
    case "dog": return "woof";
    default: { const never_: never = a; return never_; }
  }
}
console.log(sound("cat"), sound("dog"));
sound("dog")
