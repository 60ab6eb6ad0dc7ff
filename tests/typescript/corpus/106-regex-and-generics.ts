const re: RegExp = /<(\w+)>/g;
const tags: string[] = [..."<a><b>".matchAll(re)].map((m) => m[1]);
console.log(tags.join());
tags
