interface Todo { title: string; done: boolean; due: number }
const partial: Partial<Todo> = { title: "x" };
const picked: Pick<Todo, "title" | "done"> = { title: "y", done: true };
const ro: Readonly<Todo> = { title: "z", done: false, due: 1 };
console.log(Object.keys(partial).length, Object.keys(picked).length, ro.due);
[partial, picked]
