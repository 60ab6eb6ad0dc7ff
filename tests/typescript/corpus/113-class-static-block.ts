class Config {
  static values: Map<string, number>;
  static { Config.values = new Map([["a", 1]]); }
}
console.log(Config.values.get("a"));
Config.values.size
