const mk = <T = number>(x: T): { x: T } => ({ x });
console.log(mk(1).x, mk<string>("s").x);
mk(true)
