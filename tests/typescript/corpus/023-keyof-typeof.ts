const config = { host: "h", port: 80 };
type Key = keyof typeof config;
const keys: Key[] = ["host", "port"];
console.log(keys.map((k) => String(config[k])).join(":"));
keys
