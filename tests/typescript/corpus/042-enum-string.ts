enum Dir { Up = "UP", Down = "DOWN" }
function flip(d: Dir): Dir { return d === Dir.Up ? Dir.Down : Dir.Up; }
console.log(flip(Dir.Up), Object.keys(Dir).join());
flip(Dir.Down)
