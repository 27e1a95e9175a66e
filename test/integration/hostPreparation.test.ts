import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SOCAT, hostPreparationScript } from "../../provider/host/hostPreparation";
import { SandboxTransport } from "../../provider/transport/sandbox";
import type { ExecResult } from "../../provider/transport/types";
import { makeSandbox } from "../support/sandboxFixture";
import { STANDARD_PATH, ToolDir, makeToolDir } from "../support/toolDir";

// The preparation script cloud-lab's remote.Command runs (issue 14), for real on a sandbox host:
// a PATH of symlinks stands in for a fresh machine (a tool removed is a package not installed),
// and stand-in apt-get / dnf log their arguments and "install" a package by linking its tool
// back. Nothing is installed on this machine. Then the same script again: nothing to install.
let box: Awaited<ReturnType<typeof makeSandbox>>;
let tools: ToolDir;
let tmp: string;
beforeAll(async () => {
  box = await makeSandbox("cl-prep");
  tools = makeToolDir();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-prep-"));
  fs.writeFileSync(path.join(tmp, "prepare.sh"), hostPreparationScript());
});
afterAll(async () => {
  tools?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await box?.dispose();
});

const real = (tool: string) => STANDARD_PATH.map((d) => path.join(d, tool)).find((p) => fs.existsSync(p))!;
const log = () => path.join(tmp, "installer.log");
const logged = () => (fs.existsSync(log()) ? fs.readFileSync(log(), "utf8").trim().split("\n") : []);

/** A stand-in package manager: logs its arguments; `install PKG…` links back the tools of the packages it knows. */
function fakeInstaller(name: "apt-get" | "dnf", packages: Record<string, string>): void {
  const cases = Object.entries(packages).map(([pkg, tool]) => `    ${pkg}) ln -sf ${real(tool)} ${tools.dir}/${tool} ;;`);
  tools.fake(name, `#!/bin/sh\necho "${name} $*" >> ${log()}\ncase " $* " in *" install "*) ;; *) exit 0 ;; esac\nfor a in "$@"; do\n  case "$a" in\n${cases.join("\n")}\n  esac\ndone\n`);
}

/** Run the preparation script in the sandbox host with the tool directory as its whole PATH. */
async function prepare(): Promise<ExecResult> {
  return new SandboxTransport(box.name).run(`PATH=${tools.dir}; export PATH\nsh ${path.join(tmp, "prepare.sh")}\n`);
}

describe("hostPreparationScript on a sandbox host", () => {
  beforeEach(() => {
    tools.restore();
    fs.rmSync(log(), { force: true });
  });

  it("installs with apt-get exactly the packages whose tools are missing, then passes bridgelab's check", async () => {
    tools.without("conntrack", "socat", "cloud-init");
    fakeInstaller("apt-get", { conntrack: "conntrack", socat: "socat" });
    const r = await prepare();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("bridgelab-prepare: installing conntrack socat\n");
    expect(r.stdout).toMatch(/^bridgelab-prepare: kernel \S+$/m);
    expect(r.stdout.trim().split("\n").pop()).toBe("bridgelab-prepare: ok: every tool and kernel feature bridgelab uses is here");
    expect(logged()).toEqual([
      "apt-get -q -o DPkg::Lock::Timeout=300 update",
      "apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends conntrack socat",
    ]);
  });

  it("is idempotent: run again, it installs nothing and only checks", async () => {
    fakeInstaller("apt-get", {});
    const r = await prepare();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("bridgelab-prepare: nothing to install\n");
    expect(logged()).toEqual([]);
  });

  it("uses dnf and the Amazon Linux package names where there is no apt-get", async () => {
    tools.without("apt-get", "conntrack", "curl", "socat");
    fakeInstaller("dnf", { "conntrack-tools": "conntrack", "curl-minimal": "curl", socat: "socat" });
    const r = await prepare();
    expect(r.code).toBe(0);
    expect(logged()).toEqual(["dnf -q -y install conntrack-tools curl-minimal socat"]);
  });

  it("fails, naming each piece still missing, when the install did not bring it", async () => {
    tools.without("conntrack", "ss");
    fakeInstaller("apt-get", { conntrack: "conntrack" }); // iproute2's ss does not come back
    const r = await prepare();
    expect(r.code).toBe(1);
    expect(logged()).toContain("apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends iproute2 conntrack");
    expect(r.stderr).toBe("bridgelab-prepare: this host still lacks what bridgelab runs:\n  - ip (with JSON output, -j: iproute2 4.14 or later), ss — not found: ss\n");
  });

  it("refuses to run as another user than root, and a host with neither apt-get nor dnf", async () => {
    tools.fake("id", "#!/bin/sh\necho 1000\n");
    let r = await prepare();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bridgelab-prepare: run as root \(sudo sh .*prepare\.sh\)$/m);
    tools.restore();
    tools.without("apt-get", "dnf");
    r = await prepare();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bridgelab-prepare: neither apt-get nor dnf on this host");
  });
});

describe("hostPreparationScript as text", () => {
  it("asks for each package by the tools it brings, socat included, with both families' names", () => {
    const s = hostPreparationScript();
    expect(s.startsWith("#!/bin/sh\n")).toBe(true);
    for (const line of ["need iproute2 iproute ip ss", "need iptables iptables-nft iptables iptables-save iptables-restore", "need conntrack conntrack-tools conntrack", "need iputils-ping iputils ping", "need curl curl-minimal curl", "need socat socat socat"]) {
      expect(s).toContain(`\n${line}\n`);
    }
    expect(hostPreparationScript({ extraTools: [] })).not.toContain("socat");
    expect(hostPreparationScript({ extraTools: [SOCAT, { tool: "tcpdump", debian: "tcpdump", amazonLinux: "tcpdump" }] })).toContain("\nneed tcpdump tcpdump tcpdump\n");
    expect(() => hostPreparationScript({ extraTools: [{ tool: "x;rm", debian: "x", amazonLinux: "x" }] })).toThrow(/extraTools: tool "x;rm" must match/);
  });
});
