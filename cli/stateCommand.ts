import * as fs from "node:fs";
import { migrateShims } from "../engine/shimMigration";
import { type CommandSpec, UsageError, parseCommand, str } from "./args";

export const STATE_USAGE = `usage: bridgelab state migrate [--in FILE] [--out FILE]

  Rewrites state written by bridgelab 0.1 so that refresh and destroy load the installed
  bridgelab package instead of a path inside the checkout that ran \`up\`. Reads a
  \`pulumi stack export\` document (or a bundled engine state file) and writes it back migrated:

    pulumi stack export --file old.json
    npx bridgelab state migrate --in old.json --out new.json
    pulumi stack import --file new.json

  (Standard input and output when --in / --out are left out. \`pulumi up\` with the same program
  also migrates every resource it still declares. The bundled engine migrates on its own.)`;

const spec: CommandSpec = {
  name: "bridgelab state migrate",
  usage: STATE_USAGE,
  options: { in: { type: "string" }, out: { type: "string" } },
};

interface Resource {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/** The resources of a `pulumi stack export` document, a file backend checkpoint or a bundled engine state file. */
export function resourcesOf(doc: unknown): Resource[] {
  const d = doc as { deployment?: { resources?: Resource[] }; checkpoint?: { latest?: { resources?: Resource[] } }; resources?: Resource[] };
  const list = d?.deployment?.resources ?? d?.checkpoint?.latest?.resources ?? d?.resources;
  if (!Array.isArray(list)) throw new Error("the document holds no resources: give `pulumi stack export` output or a bundled engine state file");
  return list;
}

export async function stateCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "--help" || verb === "-h") {
    console.log(STATE_USAGE);
    return 0;
  }
  if (verb !== "migrate") throw new UsageError(`unknown subcommand ${JSON.stringify(verb)}: the one there is is \`migrate\``, "bridgelab state");
  const p = parseCommand(spec, rest);
  if (!p) {
    console.log(STATE_USAGE);
    return 0;
  }
  const input = str(p, "in");
  const doc = JSON.parse(fs.readFileSync(input ?? 0, "utf8")) as unknown;
  const changed = await migrateShims(resourcesOf(doc));
  const text = JSON.stringify(doc, null, 4) + "\n";
  const output = str(p, "out");
  if (output) fs.writeFileSync(output, text);
  else process.stdout.write(text);
  console.error(`bridgelab state migrate: ${changed} resource(s) migrated${changed === 0 ? " (nothing written by bridgelab 0.1)" : ""}`);
  return 0;
}
