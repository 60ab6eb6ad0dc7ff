const enum Level { Low = 1, Mid = 5, High = 10 }
function score(l: Level): number { return l * 2; }
console.log(score(Level.Mid), Level.High);
score(Level.Low)
