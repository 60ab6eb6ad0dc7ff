const words = ["apple", "avocado", "banana"];
const byLetter = words.reduce<Record<string, string[]>>((acc, w) => {
  (acc[w[0]] ??= []).push(w);
  return acc;
}, {});
console.log(JSON.stringify(byLetter));
byLetter
