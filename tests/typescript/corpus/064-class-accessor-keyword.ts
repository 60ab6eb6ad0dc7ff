class Model {
  accessor name: string = "init";
  static accessor version = 2;
}
const m = new Model();
m.name = "changed";
console.log(m.name, Model.version);
m.name
