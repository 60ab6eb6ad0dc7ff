class Registry {
  static accessor instances: number = 0;
  accessor #secret: string = "s";
  public accessor name: string;
  constructor(name: string) {
    this.name = name;
    Registry.instances++;
  }
  reveal(): string {
    this.#secret = this.#secret + "!";
    return `${this.name}:${this.#secret}`;
  }
}
const a = new Registry("a");
const b = new Registry("b");
console.log(a.reveal(), b.reveal(), a.reveal());
console.log(Registry.instances);
Registry.instances
