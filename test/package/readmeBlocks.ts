import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

/**
 * Type-checks the TypeScript code blocks of a Markdown file (```ts / ```typescript) against an
 * installed bridgelab, as a user who pastes them into a project would see them: each block is
 * a module of its own, compiled with the examples' strict tsconfig.
 *
 * Blocks are often fragments, so a small harness supplies what they leave out, and nothing else:
 *
 * - A name the block uses but never declares or imports is imported when a package entry point
 *   exports it (`bridgelab`, else `bridgelab/ecs`); `pulumi`, `aws` and `command` are the usual
 *   namespace imports of @pulumi/pulumi, @pulumi/aws and @pulumi/command.
 * - A free variable from FREE_VARIABLES (`connection`, `vpcId`…) is declared with its type; any
 *   other lower-case free variable is declared `any` (listed in `assumed`). A free name that
 *   is called (`foo(…)`) or capitalised (a class or type) must come from the package: left
 *   undeclared, it fails the block, so a renamed or removed API cannot pass unnoticed.
 * - A block that is not a list of statements but a list of object literals (connection objects,
 *   one per line) is checked as an array; when every one has a `kind`, as a `HostConnection[]`,
 *   the type the package documents them as. Any other block that does not parse fails.
 *
 * What the block itself says (its imports, its module paths, its arguments) is checked as written.
 */

export interface CodeBlock {
  /** 1-based line in the Markdown file of the block's first code line. */
  line: number;
  text: string;
}

/** Every ```ts / ```typescript block of a Markdown text, in order. */
export function tsBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b[^`]*$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j++) body.push(lines[j]);
    blocks.push({ line: i + 2, text: body.join("\n") });
    i = j;
  }
  return blocks;
}

/** Free variables README fragments commonly use, with the types the API expects of them. */
export const FREE_VARIABLES: Record<string, string> = {
  connection: `import("@pulumi/pulumi").Input<import("bridgelab").HostConnection>`,
  config: `import("@pulumi/pulumi").Config`,
  vpcId: `import("@pulumi/pulumi").Input<string>`,
  subnetIds: `import("@pulumi/pulumi").Input<import("@pulumi/pulumi").Input<string>[]>`,
  key: "string",
  privateKey: "string",
  labVersion: "string",
  everythingTheLabBuilds: `import("@pulumi/pulumi").Resource[]`,
  conn: `import("@pulumi/command").types.input.remote.ConnectionArgs`,
};

const NAMESPACES: Record<string, string> = { pulumi: "@pulumi/pulumi", aws: "@pulumi/aws", command: "@pulumi/command" };
const ENTRY_POINTS = ["bridgelab", "bridgelab/ecs"];

export interface BlockResult {
  line: number;
  /** "README.md:LINE: error TSxxxx: message", in the Markdown file's lines. */
  errors: string[];
  /** Names the harness declared `any` for this block. */
  assumed: string[];
  /** How the block was read: statements, or a list of values. */
  shape: "statements" | "values";
}

/** The compiler options of a project's tsconfig.json (the examples': strict, as `pulumi new` writes it). */
export function optionsOf(tsconfigFile: string): ts.CompilerOptions {
  const read = ts.readConfigFile(tsconfigFile, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(tsconfigFile));
  return { ...parsed.options, noEmit: true, sourceMap: false };
}

function syntaxErrors(text: string): number {
  const out = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2020 } });
  return out.diagnostics?.length ?? 0;
}

/**
 * A block of values, one after another (`{ kind: "sandbox", … }` on each line), as the body of
 * an array literal: a comma after every top-level value. undefined when it is not that either.
 */
function asValueList(text: string): { body: string; connections: boolean } | undefined {
  const scanner = ts.createScanner(ts.ScriptTarget.ES2020, false, ts.LanguageVariant.Standard, text);
  let depth = 0;
  const ends: number[] = [];
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) {
    if (t === ts.SyntaxKind.OpenBraceToken || t === ts.SyntaxKind.OpenBracketToken || t === ts.SyntaxKind.OpenParenToken) depth++;
    if (t === ts.SyntaxKind.CloseBraceToken || t === ts.SyntaxKind.CloseBracketToken || t === ts.SyntaxKind.CloseParenToken) {
      depth--;
      if (depth === 0) ends.push(scanner.getTokenEnd());
    }
  }
  if (ends.length === 0) return undefined;
  let body = text;
  for (const end of [...ends].reverse()) body = `${body.slice(0, end)},${body.slice(end)}`;
  const probe = `const __values = [\n${body}\n];`;
  if (syntaxErrors(probe) > 0) return undefined;
  const sf = ts.createSourceFile("values.ts", probe, ts.ScriptTarget.ES2020, true);
  const decl = (sf.statements[0] as ts.VariableStatement).declarationList.declarations[0];
  const array = decl.initializer as ts.ArrayLiteralExpression;
  // Only object literals: anything else that fails to parse as statements is a syntax error to report.
  if (!array.elements.every(ts.isObjectLiteralExpression)) return undefined;
  const connections = array.elements.every((e) => (e as ts.ObjectLiteralExpression).properties.some((p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === "kind"));
  return { body, connections };
}

interface Prepared {
  file: string;
  block: CodeBlock;
  shape: "statements" | "values";
  /** Text before the block's first line: the harness's imports and declarations, then the wrapper's head. */
  head: string;
  body: string;
  foot: string;
}

function render(p: Prepared, prelude: string[]): string {
  return [...prelude, p.head, p.body, p.foot].join("\n");
}

const FREE_NAME_CODES = new Set([2304, 2552, 18004]);

/** The identifier a "Cannot find name" diagnostic is about, and whether it is called. */
function freeNameAt(sf: ts.SourceFile, d: ts.Diagnostic): { name: string; called: boolean } | undefined {
  if (d.start === undefined) return undefined;
  const find = (node: ts.Node): ts.Node | undefined => {
    if (d.start! >= node.getStart(sf) && d.start! < node.getEnd()) return ts.forEachChild(node, find) ?? node;
    return undefined;
  };
  const node = find(sf);
  if (!node) return undefined;
  if (ts.isShorthandPropertyAssignment(node)) return { name: node.name.text, called: false };
  if (!ts.isIdentifier(node)) return undefined;
  const called = ts.isCallExpression(node.parent) && node.parent.expression === node;
  const isNew = ts.isNewExpression(node.parent) && node.parent.expression === node;
  return { name: node.text, called: called || isNew };
}

/**
 * Checks every block. `projectDir` is a directory of the installed project (bridgelab and
 * @pulumi/pulumi resolvable from it); the blocks are written to `projectDir/readme-blocks/`
 * (removed at the end). `source` names the Markdown file in messages.
 */
export function checkBlocks(blocks: CodeBlock[], projectDir: string, options: ts.CompilerOptions, source = "README.md"): BlockResult[] {
  const dir = path.join(projectDir, "readme-blocks");
  fs.mkdirSync(dir, { recursive: true });
  try {
    return checkIn(dir, blocks, options, source);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function checkIn(dir: string, blocks: CodeBlock[], options: ts.CompilerOptions, source: string): BlockResult[] {
  const prepared: Prepared[] = blocks.map((block, i) => {
    const file = path.join(dir, `block-${String(i + 1).padStart(2, "0")}-line-${block.line}.ts`);
    if (syntaxErrors(block.text) > 0) {
      const list = asValueList(block.text);
      if (list) {
        const type = list.connections ? `: import("bridgelab").HostConnection[]` : "";
        return { file, block, shape: "values", head: `export const __values${type} = [`, body: list.body, foot: "];" };
      }
    }
    return { file, block, shape: "statements", head: "", body: block.text, foot: "export {};" };
  });

  // The names the package's entry points export (values and types).
  const exportsFile = path.join(dir, "entry-points.ts");
  fs.writeFileSync(exportsFile, ENTRY_POINTS.map((m, i) => `import * as e${i} from ${JSON.stringify(m)};`).join("\n") + "\nexport {};\n");
  for (const p of prepared) fs.writeFileSync(p.file, render(p, []));
  const first = ts.createProgram([exportsFile, ...prepared.map((p) => p.file)], options);
  const checker = first.getTypeChecker();
  const exported = new Map<string, string>();
  const entry = first.getSourceFile(exportsFile)!;
  entry.statements.filter(ts.isImportDeclaration).forEach((imp) => {
    const symbol = checker.getSymbolAtLocation(imp.moduleSpecifier);
    if (!symbol) return;
    const from = (imp.moduleSpecifier as ts.StringLiteral).text;
    for (const e of checker.getExportsOfModule(symbol)) if (!exported.has(e.name)) exported.set(e.name, from);
  });

  const preludes = prepared.map((p) => {
    const sf = first.getSourceFile(p.file)!;
    const free = new Map<string, boolean>();
    for (const d of first.getSemanticDiagnostics(sf)) {
      if (!FREE_NAME_CODES.has(d.code)) continue;
      const f = freeNameAt(sf, d);
      if (f) free.set(f.name, (free.get(f.name) ?? false) || f.called);
    }
    const imports = new Map<string, string[]>();
    const lines: string[] = [];
    const assumed: string[] = [];
    for (const [name, called] of free) {
      if (NAMESPACES[name]) lines.push(`import * as ${name} from ${JSON.stringify(NAMESPACES[name])};`);
      else if (exported.has(name)) imports.set(exported.get(name)!, [...(imports.get(exported.get(name)!) ?? []), name]);
      else if (FREE_VARIABLES[name]) lines.push(`declare const ${name}: ${FREE_VARIABLES[name]};`);
      else if (!called && /^[a-z_$]/.test(name)) {
        lines.push(`declare const ${name}: any;`);
        assumed.push(name);
      }
    }
    for (const [from, names] of imports) lines.unshift(`import { ${names.join(", ")} } from ${JSON.stringify(from)};`);
    return { lines, assumed };
  });

  prepared.forEach((p, i) => fs.writeFileSync(p.file, render(p, preludes[i].lines)));
  const second = ts.createProgram(
    prepared.map((p) => p.file),
    options,
    undefined,
    first,
  );
  return prepared.map((p, i) => {
    const sf = second.getSourceFile(p.file)!;
    const offset = preludes[i].lines.length + 1; // the prelude and the head line come before the block's first line
    const diagnostics = [...second.getSyntacticDiagnostics(sf), ...second.getSemanticDiagnostics(sf)];
    const errors = diagnostics.map((d) => {
      const where = d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start).line - offset : 0;
      const line = p.block.line + Math.max(0, Math.min(where, p.block.text.split("\n").length - 1));
      return `${source}:${line}: error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    return { line: p.block.line, errors, assumed: preludes[i].assumed, shape: p.shape };
  });
}
