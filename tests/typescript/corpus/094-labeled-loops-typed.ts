let found: [number, number] | null = null;
outer: for (let i: number = 0; i < 5; i++) {
  for (let j: number = 0; j < 5; j++) { if (i * j === 6) { found = [i, j]; break outer; } }
}
console.log(found);
found
