function greet(name: string, greeting?: string): string {
  return `${greeting ?? "Hello"}, ${name}`;
}
console.log(greet("Ada"));
console.log(greet("Alan", "Hi"));
greet("Grace", undefined)
