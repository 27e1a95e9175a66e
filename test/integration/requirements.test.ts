import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REQUIREMENTS, RequirementsReport, parseRequirements, requirementsScript } from "../../provider/host/requirements";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { runChecked } from "../../provider/transport/types";
import { hostSnapshot } from "../support/hostSnapshot";
import { makeSandbox } from "../support/sandboxFixture";
import { ToolDir, makeToolDir } from "../support/toolDir";

// The requirements script for real, on a sandbox host: every tool it looks for is taken away
// from the PATH one at a time (a directory of symlinks to everything else), every kernel
// feature is hidden by masking /proc/config.gz and /proc/kallsyms in a throwaway mount
// namespace. On this Debian machine nothing is missing and nothing is unknown; and the script
// changes nothing, with either iptables backend.
let box: Awaited<ReturnType<typeof makeSandbox>>;
let tools: ToolDir;
let tmp: string;
beforeAll(async () => {
  box = await makeSandbox("it-req");
  tools = makeToolDir();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-req-"));
});
afterAll(async () => {
  tools?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await box?.dispose();
});

/** The script on the sandbox host, with the tool directory as the whole PATH; `wrap` runs it some other way (`unshare …`). */
async function check(o: { wrap?: string } = {}): Promise<RequirementsReport> {
  const body = `PATH=${tools.dir}; export PATH\n${requirementsScript()}`;
  const script = o.wrap ? `${o.wrap} <<'BRIDGELAB_EOF'\n${body}BRIDGELAB_EOF\n` : body;
  const r = await runChecked(new SandboxTransport(box.name), script, "requirements");
  return parseRequirements(r.stdout);
}

const statuses = (r: RequirementsReport) => Object.fromEntries(r.results.filter((x) => x.status !== "ok").map((x) => [x.requirement.id, `${x.status}: ${x.detail}`]));

/** A gzip'd copy of the running kernel's config without the lines matching `drop`, for masking /proc/config.gz. */
function configWithout(name: string, drop: RegExp): string {
  const file = path.join(tmp, `${name}.gz`);
  const config = execFileSync("zcat", ["/proc/config.gz"], { encoding: "utf8" });
  fs.writeFileSync(file, execFileSync("gzip", ["-c"], { input: config.split("\n").filter((l) => !drop.test(l)).join("\n") }));
  return file;
}

/** `unshare` a private mount namespace in the sandbox host, bind-mount over the given /proc files, run sh there. */
const masked = (mounts: Record<string, string>) =>
  `unshare --mount --propagation private sh -c '${Object.entries(mounts)
    .map(([target, source]) => `mount --bind ${source} ${target}`)
    .join(" && ")} && exec sh -s'`;

describe("the requirements script on a sandbox host", () => {
  it("finds everything on this machine: nothing missing, nothing it cannot tell; reads the host's facts", async () => {
    tools.restore();
    const r = await check();
    expect(statuses(r)).toEqual({});
    expect(r.missing).toEqual([]);
    expect(r.host).toMatchObject({ osId: "debian", osName: expect.stringMatching(/^Debian GNU\/Linux/), kernel: os.release(), iptables: expect.stringMatching(/^iptables v1\.\d+\.\d+ \(nf_tables\)$/) });
  });

  it("changes nothing on the host, with the nf_tables backend and with iptables-legacy (no nat table is created)", async () => {
    tools.restore();
    const extra = () => box.sh("cat /proc/net/ip_tables_names; echo --; iptables-legacy-save | grep -v '^#'; echo --; iptables-nft-save | grep -v '^#'; echo --; ls -A /run /run/netns");
    const before = { snap: await hostSnapshot(box.sh), extra: await extra() };
    await check();
    // iptables-legacy behind the names bridgelab runs: listing a legacy table would create it.
    for (const t of ["iptables", "iptables-save", "iptables-restore"]) tools.fake(t, `#!/bin/sh\nexec /usr/sbin/${t.replace("iptables", "iptables-legacy")} "$@"\n`);
    const legacy = await check();
    expect(statuses(legacy)).toEqual({});
    expect(legacy.host.iptables).toMatch(/\(legacy\)$/);
    expect({ snap: await hostSnapshot(box.sh), extra: await extra() }).toEqual(before);
    expect(before.extra.startsWith("--")).toBe(true); // the sandbox host had no legacy table to begin with
  });

  const toolCases = REQUIREMENTS.flatMap((req) => (req.tools ?? []).map((tool) => [tool, req.id] as const));
  it.each(toolCases)("without %s on PATH, requirement %s is missing and names it; nothing else is", async (tool, id) => {
    tools.restore();
    tools.without(tool);
    const r = await check();
    expect(r.missing.map((m) => [m.requirement.id, m.detail])).toEqual([[id, `not found: ${tool}`]]);
    // Without grep the kernel's lists cannot be read: said as such, never blamed on the kernel.
    if (tool === "grep") expect(Object.keys(statuses(r)).filter((k) => k !== "grep").every((k) => k.startsWith("kernel-") && statuses(r)[k].startsWith("unknown"))).toBe(true);
    else expect(statuses(r)).toEqual({ [id]: `missing: not found: ${tool}` });
  });

  it("an ip without JSON output, and an iptables older than 1.6.2, are missing with the reason", async () => {
    tools.restore();
    tools.fake("ip", `#!/bin/sh\ncase " $* " in *" -j "*) echo 'Option "-j" is unknown, try "ip -help".' >&2; exit 255 ;; esac\nexec /usr/bin/ip "$@"\n`);
    tools.fake("iptables", `#!/bin/sh\n[ "$1" = -V ] && { echo "iptables v1.4.21"; exit 0; }\nexec /usr/sbin/iptables "$@"\n`);
    const r = await check();
    expect(statuses(r)).toEqual({
      iproute2: "missing: ip does not print JSON (ip -j link show fails)",
      iptables: "missing: iptables 1.4.21 is too old: iptables-restore -w needs 1.6.2 or later",
      // 1.4.21 names no backend, so it is taken for legacy: a nat table is looked for without listing it.
    });
  });

  describe("kernel features, read from the kernel config, /sys/module and /proc/kallsyms", () => {
    it("a kernel config without CONFIG_VETH: veth pairs are missing; one without the nf_tables NAT: the nat table is", async () => {
      tools.restore();
      const noVeth = await check({ wrap: masked({ "/proc/config.gz": configWithout("noveth", /^CONFIG_VETH=/) }) });
      expect(statuses(noVeth)).toEqual({ "kernel-veth": "missing: the kernel has no CONFIG_VETH" });
      const noNat = await check({ wrap: masked({ "/proc/config.gz": configWithout("nonat", /^CONFIG_NFT_(NAT|COMPAT)=/) }) });
      expect(statuses(noNat)).toEqual({ "kernel-nat": "missing: the kernel has no CONFIG_NFT_NAT|CONFIG_NFT_CHAIN_NAT_IPV4, CONFIG_NFT_COMPAT" });
      // Bridges are in /sys/module here: a config without them does not matter.
      expect(statuses(await check({ wrap: masked({ "/proc/config.gz": configWithout("nobridge", /^CONFIG_BRIDGE=/) }) }))).toEqual({});
    });

    it("with iptables-legacy, a kernel config without CONFIG_IP_NF_NAT: the nat table is missing", async () => {
      tools.restore();
      for (const t of ["iptables", "iptables-save", "iptables-restore"]) tools.fake(t, `#!/bin/sh\nexec /usr/sbin/${t.replace("iptables", "iptables-legacy")} "$@"\n`);
      const r = await check({ wrap: masked({ "/proc/config.gz": configWithout("nolegacynat", /^CONFIG_IP_NF_NAT=/) }) });
      expect(statuses(r)).toEqual({ "kernel-nat": "missing: the kernel has no CONFIG_IP_NF_NAT" });
    });

    it("no kernel config: built-in code is found in /proc/kallsyms; with that hidden too, it cannot tell, and does not refuse", async () => {
      tools.restore();
      const empty = path.join(tmp, "empty");
      fs.writeFileSync(empty, "");
      expect(statuses(await check({ wrap: masked({ "/proc/config.gz": empty }) }))).toEqual({});
      const blind = await check({ wrap: masked({ "/proc/config.gz": empty, "/proc/kallsyms": empty }) });
      expect(blind.missing).toEqual([]);
      const unknown = statuses(blind);
      // bridge and nf_conntrack are in /sys/module; veth, the nat table's and the matches' code are built in without a trace there.
      expect(Object.keys(unknown).sort()).toEqual(["kernel-nat", "kernel-veth", "kernel-xt"]);
      expect(unknown["kernel-veth"]).toMatch(/^unknown: cannot tell: no kernel config \(\/proc\/config\.gz, \/boot\/config-.*\), no \/lib\/modules\/.*, and not built in for CONFIG_VETH$/);
    });
  });
});
