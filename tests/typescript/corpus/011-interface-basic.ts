interface Point { x: number; y: number; label?: string }
const pts: Point[] = [{ x: 1, y: 2 }, { x: 3, y: 4, label: "b" }];
console.log(pts.map((p) => p.x + p.y).join(","));
pts[1].label
