import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

// The README's API reference kept in step with the types: every field of every public resource's
// and component's Args is named (as `field`) in the README section of its class, and every
// section names only fields that exist. A field added, renamed or removed in the code without
// the README following fails here.
const repo = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");

/** Exported interfaces named *Args in a source file, with their property names. */
function argsInterfaces(file: string): Map<string, string[]> {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const out = new Map<string, string[]>();
  for (const s of sf.statements) {
    if (!ts.isInterfaceDeclaration(s) || !s.name.text.endsWith("Args")) continue;
    if (!s.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    out.set(
      s.name.text,
      s.members.flatMap((m) => (ts.isPropertySignature(m) && ts.isIdentifier(m.name) ? [m.name.text] : [])),
    );
  }
  return out;
}

/** The README text from `heading` to the next heading of the same or a higher level. */
function section(heading: string): string {
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) return "";
  const level = heading.indexOf(" ");
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(" ") <= level);
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

const resources = ["NetNamespace", "Bridge", "VethPair", "Egress", "PortPublish", "BridgeIsolation", "Process", "LabProbe"];
const files: Record<string, string> = {
  NetNamespace: "provider/resources/netNamespace.ts",
  Bridge: "provider/resources/bridge.ts",
  VethPair: "provider/resources/vethPair.ts",
  Egress: "provider/resources/egress.ts",
  PortPublish: "provider/resources/portPublish.ts",
  BridgeIsolation: "provider/resources/bridgeIsolation.ts",
  Process: "provider/resources/process.ts",
  LabProbe: "provider/resources/labProbe.ts",
};

describe("the README's API reference", () => {
  it.each(resources)("names every field of %sArgs in its section, and no other", (name) => {
    const fields = argsInterfaces(path.join(repo, files[name])).get(`${name}Args`);
    expect(fields).toBeDefined();
    const text = section(`### ${name}`);
    expect(text).not.toBe("");
    const missing = fields!.filter((f) => f !== "connection" && !text.includes(`\`${f}\``) && !new RegExp(`[{,]\\s*${f}[?:]`).test(text));
    expect({ section: name, missing }).toEqual({ section: name, missing: [] });
    // Table rows name existing fields only: `field` in the first column.
    const named = [...text.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([A-Za-z]+)(?:\[\])?(?:\.[A-Za-z]+)?`/g)].map((x) => x[1]));
    const unknown = named.filter((f) => f !== "input" && !fields!.includes(f) && f !== "probes");
    expect({ section: name, unknown }).toEqual({ section: name, unknown: [] });
  });

  it.each(resources.filter((r) => r !== "LabProbe"))("says for each field of %s what its Diff says: replace or update", (name) => {
    const source = fs.readFileSync(path.join(repo, files[name]), "utf8");
    const list = (key: string) => [...(new RegExp(`${key}: \\[([^\\]]*)\\]`).exec(source)?.[1] ?? "").matchAll(/"([A-Za-z]+)"/g)].map((m) => m[1]);
    const replace = list("replace");
    const update = list("update");
    expect(replace.length).toBeGreaterThan(0);
    const rows = [...section(`### ${name}`).matchAll(/^\| ([^|]+) \| ([^|]*) \|/gm)].filter((m) => !m[1].includes("input") && !m[1].includes("---"));
    const said: Record<string, string> = {};
    for (const [, fields, how] of rows) for (const f of fields.matchAll(/`([A-Za-z]+)`/g)) said[f[1]] = how.trim().split(" ")[0];
    const expected = Object.fromEntries([...replace.map((f) => [f, "replace"]), ...update.map((f) => [f, "update"])].filter(([f]) => f in said));
    expect({ name, said }).toEqual({ name, said: expected });
  });

  it("names every field of NetworkArgs, ContainerArgs and VerifyLabArgs in the components section", () => {
    const text = section("## Components: `Network` and `Container`");
    const all = new Map([
      ...argsInterfaces(path.join(repo, "provider/components/network.ts")),
      ...argsInterfaces(path.join(repo, "provider/components/container.ts")),
      ...argsInterfaces(path.join(repo, "provider/components/verifyLab.ts")),
    ]);
    for (const name of ["NetworkArgs", "ContainerArgs", "VerifyLabArgs"]) {
      const fields = all.get(name);
      expect(fields).toBeDefined();
      const missing = fields!.filter((f) => !text.includes(`\`${f}\``) && !new RegExp(`\\b${f}\\??[,}:]`).test(text));
      expect({ name, missing }).toEqual({ name, missing: [] });
    }
  });
});
