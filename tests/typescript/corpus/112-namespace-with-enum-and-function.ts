namespace Http {
  export enum Method { Get = "GET", Post = "POST" }
  export function line(m: Method, path: string): string { return `${m} ${path}`; }
}
console.log(Http.line(Http.Method.Post, "/x"));
Http.line(Http.Method.Get, "/")
