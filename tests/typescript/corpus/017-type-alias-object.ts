type User = { id: number; name: string; tags: string[] };
const u: User = { id: 7, name: "x", tags: ["a"] };
console.log(u.id, u.tags.length);
u
