/** Every `__provider` string anywhere in a state file's JSON: what a secrets scan must read too. */
export function providerTexts(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => providerTexts(x, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "__provider" && typeof x === "string") out.push(x);
      else providerTexts(x, out);
    }
  }
  return out;
}
