class Cfg { host?: string; port?: number = 80; }
const c = new Cfg();
console.log(c.host === undefined, c.port, "host" in c);
c.port
