type Event = `on${Capitalize<"click" | "hover">}`;
const e: Event = "onClick";
console.log(e.length);
e
