class Settings {
  static accessor defaults: Record<string, number> = { a: 1 };
  accessor level: number = 1;
}
const s = new Settings();
s.level += 2;
console.log(s.level, Settings.defaults.a);
s.level
