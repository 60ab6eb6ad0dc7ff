function parse(s: string): number | Error {
  try { return JSON.parse(s) as number; } catch (e: unknown) { return e as Error; }
}
const r = parse("{bad");
console.log(r instanceof Error ? r.name : r, parse("42"));
parse("7")
