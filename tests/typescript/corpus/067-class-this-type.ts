class Builder {
  parts: string[] = [];
  add(p: string): this { this.parts.push(p); return this; }
}
class Fancy extends Builder { star(): this { return this.add("*"); } }
console.log(new Fancy().add("a").star().add("b").parts.join(""));
new Fancy().star().parts
