import { REQUIREMENTS, describeMissing, familyOf, installLines, parseRequirements, requirementsScript } from "../../provider/host/requirements";

// The requirements' pure half: the script's shape, reading its output back, and what users are
// told. The shell tests themselves run for real in test/integration/requirements.test.ts.
const idx = (id: string) => REQUIREMENTS.findIndex((r) => r.id === id);

function output(statuses: Record<string, string> = {}, about = "os debian||Debian GNU/Linux 12 (bookworm)\nkernel 6.1.0-18-amd64\niptables iptables v1.8.9 (nf_tables)"): string {
  const lines = REQUIREMENTS.map((r, i) => (statuses[r.id] ? `${statuses[r.id].split(" ")[0]} ${i} ${statuses[r.id].split(" ").slice(1).join(" ")}`.trim() : `ok ${i}`));
  return `@@bridgelab about\n${about}\n@@bridgelab requirements\n${lines.join("\n")}\n`;
}

describe("requirements", () => {
  it("have unique ids, a test or tools each, and both install hints", () => {
    expect(new Set(REQUIREMENTS.map((r) => r.id)).size).toBe(REQUIREMENTS.length);
    for (const r of REQUIREMENTS) {
      expect(r.tools?.length || r.test).toBeTruthy();
      expect(r.debian).toBeTruthy();
      expect(r.amazonLinux).toBeTruthy();
      expect(r.usedBy.length).toBeGreaterThan(0);
    }
    // Everything the issue names is looked for.
    const tools = REQUIREMENTS.flatMap((r) => r.tools ?? []);
    for (const t of ["ip", "iptables-save", "iptables-restore", "conntrack", "flock", "nsenter", "setsid", "ping", "curl", "bash", "timeout"]) expect(tools).toContain(t);
  });

  it("the script prints one line per requirement, in order, after the host's facts; it changes nothing (no write, no iptables change)", () => {
    const s = requirementsScript();
    expect(s.startsWith("echo '@@bridgelab about'\n")).toBe(true);
    for (let i = 0; i < REQUIREMENTS.length; i++) expect(s).toContain(`echo 'ok ${i}'`);
    for (const change of [/iptables (-w )?(-t \w+ )?-[AIDNFXPZ]\b/, /\| *iptables-restore/, /\bip (-\w+ )*(link|addr|route|netns) (add|set|del)/, /sysctl -q?w/, /modprobe/, />>? *\/(?!dev\/null)/, /\b(mkdir|rm|touch|mount) /]) {
      expect(s).not.toMatch(change);
    }
  });

  it("reads the output back: facts, statuses and reasons", () => {
    const r = parseRequirements(output({ conntrack: "missing not found: conntrack", "kernel-veth": "unknown cannot tell: no kernel config" }));
    expect(r.host).toEqual({ osId: "debian", osLike: "", osName: "Debian GNU/Linux 12 (bookworm)", kernel: "6.1.0-18-amd64", iptables: "iptables v1.8.9 (nf_tables)" });
    expect(r.missing.map((m) => [m.requirement.id, m.status, m.detail])).toEqual([["conntrack", "missing", "not found: conntrack"]]);
    expect(r.results[idx("kernel-veth")]).toMatchObject({ status: "unknown", detail: "cannot tell: no kernel config" });
    expect(r.results.filter((x) => x.status === "ok")).toHaveLength(REQUIREMENTS.length - 2);
  });

  it("an output cut short is an error naming the requirement without a result", () => {
    const cut = output().split("\n").slice(0, -3).join("\n");
    expect(() => parseRequirements(cut)).toThrow(`the requirements check printed no result for "${REQUIREMENTS[REQUIREMENTS.length - 2].name}"`);
  });

  it("knows a host's install family from os-release", () => {
    expect(familyOf({ osId: "debian", osLike: "" })).toBe("debian");
    expect(familyOf({ osId: "ubuntu", osLike: "debian" })).toBe("debian");
    expect(familyOf({ osId: "amzn", osLike: "fedora" })).toBe("amazonLinux");
    expect(familyOf({ osId: "alpine", osLike: "" })).toBeUndefined();
  });

  it("install lines: one command per family, packages once each, kernel advice after them, this host's family marked", () => {
    const r = parseRequirements(
      output({ conntrack: "missing not found: conntrack", iptables: "missing not found: iptables-save", "kernel-veth": "missing the kernel has no CONFIG_VETH" }, "os amzn|fedora|Amazon Linux 2023\nkernel 6.1\niptables "),
    );
    expect(installLines(r.missing, r.host)).toEqual([
      "Debian/Ubuntu: apt-get install -y iptables conntrack; a kernel with CONFIG_VETH (stock kernels have it)",
      "Amazon Linux (this host): dnf install -y iptables-nft conntrack-tools; a kernel with CONFIG_VETH (stock kernels have it)",
    ]);
  });

  it("the refusal names the host, each missing piece with what uses it, and how to install it", () => {
    const r = parseRequirements(output({ conntrack: "missing not found: conntrack", curl: "missing not found: curl" }));
    expect(describeMissing("ssh:admin@10.0.0.5:22", r.missing, r.host)).toBe(
      [
        "ssh:admin@10.0.0.5:22 lacks what bridgelab runs there, so nothing was changed on it:",
        "  - conntrack — not found: conntrack (used by PortPublish)",
        "  - curl — not found: curl (used by LabProbe)",
        "Install them, then run again:",
        "  Debian/Ubuntu (this host): apt-get install -y conntrack curl",
        "  Amazon Linux: dnf install -y conntrack-tools curl-minimal",
        "(`bridgelab doctor` checks a host without changing it: --sandbox NAME or --connection JSON)",
      ].join("\n"),
    );
  });
});
