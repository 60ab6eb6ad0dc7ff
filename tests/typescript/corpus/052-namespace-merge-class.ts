class Album { constructor(public title: string) {} }
namespace Album { export const kind = "album"; }
console.log(new Album("x").title, Album.kind);
Album.kind
