/** Doc comment */
// line comment: interface Fake {}
const x: number /* inline: string */ = 1; /* type T = 1 */
console.log(x);
x
