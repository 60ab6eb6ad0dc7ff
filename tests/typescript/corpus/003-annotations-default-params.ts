function area(w: number, h: number = w): number { return w * h; }
console.log(area(3), area(3, 4));
area(5)
