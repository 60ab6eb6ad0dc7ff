type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
const doc: Json = { a: [1, "two", { b: null }] };
console.log(JSON.stringify(doc));
doc
