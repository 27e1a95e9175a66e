import { formatSummary, readableError, shortType } from "../../cli/engineReport";
import type { EngineSummary, ResourceSummary } from "../../engine/types";

// What `bridgelab engine` prints: Pulumi's kind of report, the error once and readable.
const r = (name: string, type: string, op: ResourceSummary["op"], extra: Partial<ResourceSummary> = {}): ResourceSummary => ({
  urn: `urn:pulumi:dev::p::${type}::${name}`,
  type,
  name,
  op,
  providerCalls: [],
  ...extra,
});
const stack = r("p-dev", "pulumi:pulumi:Stack", "same");
const br = "pulumi-nodejs:dynamic/bridgelab:Bridge";
const ns = "pulumi-nodejs:dynamic/bridgelab:NetNamespace";

describe("the engine's report", () => {
  it("one aligned line per change with the properties named, the rest counted, outputs on one line each", () => {
    const s: EngineSummary = {
      op: "up",
      ok: true,
      resources: [stack, r("br0", br, "update", { changes: ["mtu"] }), r("netns0", ns, "create"), r("netns1", ns, "same"), r("old", ns, "delete")],
      outputs: { url: "http://198.51.100.2:5000", key: "[secret]" },
      logs: [],
    };
    expect(formatSummary(s)).toBe(
      [
        "Resources:",
        "  ~  update   bridgelab:Bridge        br0     [mtu]",
        "  +  create   bridgelab:NetNamespace  netns0",
        "  -  delete   bridgelab:NetNamespace  old",
        "  1 unchanged",
        "Outputs:",
        '  url: "http://198.51.100.2:5000"',
        '  key: "[secret]"',
        "",
      ].join("\n"),
    );
    expect(formatSummary(s, { outputs: false })).not.toContain("Outputs:");
  });

  it("a refresh lists drift and what is gone; a failed preview of an up says it changed nothing, with the error once and no stack frames", () => {
    const refresh: EngineSummary = { op: "refresh", ok: true, resources: [stack, r("br0", br, "refresh", { changes: ["mtu"] }), r("netns0", ns, "gone"), r("netns1", ns, "refresh", { changes: [] })], outputs: {}, logs: [] };
    expect(formatSummary(refresh)).toBe("Resources:\n  ~  drift    bridgelab:Bridge        br0     [mtu]\n  -  gone     bridgelab:NetNamespace  netns0\n  1 as recorded\n");
    const failed: EngineSummary = {
      op: "up",
      ok: false,
      previewFailed: true,
      resources: [stack],
      outputs: {},
      logs: [],
      error: "the preview failed, so nothing was changed:\nError: my program is broken\n    at Object.<anonymous> (/p/index.js:2:7)\n    at Module._compile (node:internal/modules/cjs/loader:1521:14)",
    };
    expect(formatSummary(failed)).toBe("Previewed:\n  (none)\nerror: the preview failed, so nothing was changed:\nError: my program is broken\n");
  });

  it("a preview marks the replacements that delete the old object first (and the dependents deleted ahead of them) apart from those made first", () => {
    const veth = "pulumi-nodejs:dynamic/bridgelab:VethPair";
    const s: EngineSummary = {
      op: "preview",
      ok: true,
      resources: [
        stack,
        r("br1", br, "replace", { changes: ["address", "name"] }),
        r("veth0", veth, "replace", { changes: ["namespace"], deleteFirst: true }),
        r("proc0", "pulumi-nodejs:dynamic/bridgelab:Process", "delete", { changes: ["namespace"], deleteFirst: true }),
      ],
      outputs: {},
      logs: [],
    };
    expect(formatSummary(s)).toBe(
      [
        "Previewed:",
        "  +- replace  bridgelab:Bridge    br1    [address, name]",
        "  -+ replace  bridgelab:VethPair  veth0  [namespace]  (deletes first)",
        "  -  delete   bridgelab:Process   proc0  [namespace]  (deleted first, to be replaced)",
        "",
      ].join("\n"),
    );
  });

  it("keeps stack frames for BRIDGELAB_DEBUG, and never colour codes", () => {
    const text = "\u001b[31mError: x\u001b[39m\n    at f (/p/a.js:1:1)";
    expect(readableError(text, false)).toBe("Error: x");
    expect(readableError(text, true)).toBe("Error: x\n    at f (/p/a.js:1:1)");
    expect(shortType(br)).toBe("bridgelab:Bridge");
    expect(shortType("bridgelab:index:Network")).toBe("bridgelab:index:Network");
  });
});
