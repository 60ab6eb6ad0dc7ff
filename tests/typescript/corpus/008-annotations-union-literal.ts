type Dir = "up" | "down";
function move(d: Dir, n: number | string): string { return `${d}:${n}`; }
console.log(move("up", 1), move("down", "2"));
move("up", 3)
