interface Row { name: string; score: number }
const rows: Row[] = [{ name: "b", score: 2 }, { name: "a", score: 2 }, { name: "c", score: 9 }];
rows.sort((x: Row, y: Row): number => y.score - x.score || x.name.localeCompare(y.name));
console.log(rows.map((r) => r.name).join(""));
rows[0]
