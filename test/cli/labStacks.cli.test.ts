import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { alive, curlFromOutside, iface, netnsList } from "../e2e/labHarness";
import { makeSandbox } from "../support/sandboxFixture";

/**
 * The lab stacks through the real Pulumi CLI with a local file backend — the same scenario
 * as test/e2e/<stack>.test.ts runs through the bundled test engine: up → verify → an
 * in-place update → a replacement → refresh after an out-of-band change → repair → destroy
 * → nothing left.
 *
 * Everything the CLI writes stays in a temporary directory: PULUMI_HOME (credentials,
 * workspace), the file:// backend, and the project it runs, laid out as the repository is —
 *
 *   TMP/root/package.json        a copy (its name and "exports" make `bridgelab/…` resolve here)
 *   TMP/root/dist, node_modules  symlinks to the repository's (the test guard builds dist/)
 *   TMP/root/labs/               copies of labs/Pulumi.yaml, index.js and Pulumi.<stack>.yaml
 *
 * — and runs in TMP/root/labs, so neither `stack init` (which writes the passphrase's
 * encryptionsalt into the stack file) nor `config set` ever edits the repository. labs/index.js
 * requires ../dist/stacks; the plugin's provider shim loads `bridgelab/internal/providers` from
 * the project's directory, which resolves through the copied package.json to dist/. Node
 * resolves the symlinks to the real files, so the program, the provider and @pulumi/pulumi are
 * the repository's own.
 *
 * Skipped when no `pulumi` binary is on PATH (set PULUMI_BIN to use another); the skipped test's
 * title says why, and test/support/summaryReporter.js prints it with the run's summary.
 */
const run = promisify(execFile);
const repo = path.resolve(__dirname, "..", "..");

function findPulumi(): string | undefined {
  if (process.env.PULUMI_BIN) return fs.existsSync(process.env.PULUMI_BIN) ? process.env.PULUMI_BIN : undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, "pulumi");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const pulumiBin = findPulumi();

interface Scenario {
  stack: string;
  /** Config making an in-place change, then one that replaces. */
  update: Record<string, string>;
  replace: Record<string, string>;
  /** A hand-made deletion the refresh must notice, and the namespaces the lab has after repair. */
  breakIt: string;
  namespaces: string[];
  /** Outside curl target → expected body, after the replacement. */
  published: [string, string];
}

const scenarios: Scenario[] = [
  {
    stack: "netns-lab",
    update: { mtu: "1400" },
    replace: { bridgeName: "br1" },
    breakIt: "ip netns del netns1",
    namespaces: ["netns0", "netns1"],
    published: ["198.51.100.2:5000", "hello from netns0"],
  },
  {
    stack: "docker-modes",
    update: { mtu: "1400" },
    replace: { webName: "frontend" },
    breakIt: "ip netns del nonet",
    namespaces: ["app", "backend", "db", "frontend", "nonet"],
    published: ["198.51.100.2:8080", "hello from frontend"],
  },
];

if (!pulumiBin) {
  const why =
    (process.env.PULUMI_BIN ? `PULUMI_BIN=${process.env.PULUMI_BIN} does not exist` : "no `pulumi` binary on PATH (set PULUMI_BIN to a Pulumi CLI to run them)") +
    "; the same scenarios run through the bundled test engine in test/e2e/netnsLab.test.ts and test/e2e/dockerModes.test.ts";
  describe("lab stacks through the real Pulumi CLI", () => {
    it.skip(`skipped: ${why}`, () => undefined);
  });
} else {
  describe.each(scenarios)("stack $stack through the real Pulumi CLI ($stack)", (sc) => {
    let box: Awaited<ReturnType<typeof makeSandbox>>;
    let tmp = "";
    let project = "";
    const pids: number[] = [];

    /** Run `pulumi ARGS` in the copied labs project with the isolated home, backend and stack file. */
    async function pulumi(...args: string[]): Promise<string> {
      const env = {
        ...process.env,
        PULUMI_HOME: path.join(tmp, "home"),
        PULUMI_CONFIG_PASSPHRASE: "",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      };
      try {
        const { stdout } = await run(pulumiBin!, [...args, "--non-interactive", "--cwd", project], { env, maxBuffer: 64 << 20, timeout: 180_000 });
        return stdout;
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`pulumi ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
      }
    }
    const onStack = (...args: string[]) => pulumi(...args, "--stack", sc.stack);
    const setConfig = async (values: Record<string, string>) => {
      for (const [k, v] of Object.entries(values)) await onStack("config", "set", `bridgelab:${k}`, v);
    };
    const outputs = async () => JSON.parse(await onStack("stack", "output", "--json", "--show-secrets")) as Record<string, any>;
    /** The preview's steps, as "type:name op" (dynamic resources only). */
    const previewOps = async () => {
      const p = JSON.parse(await onStack("preview", "--json")) as { steps?: Array<{ op: string; urn: string }> };
      return Object.fromEntries(
        (p.steps ?? [])
          .filter((s) => s.urn.includes("pulumi-nodejs:dynamic"))
          .map((s) => {
            const [type, name] = s.urn.split("::").slice(-2);
            return [`${type.split(":").pop()}:${name}`, s.op];
          }),
      );
    };
    const expectVerified = (o: Record<string, any>) => {
      const matrix = o.verification as Array<{ name: string; ok: boolean; detail: string }>;
      expect(matrix.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    };

    beforeAll(async () => {
      box = await makeSandbox(`cli-${sc.stack.slice(0, 6)}`);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-cli-"));
      fs.mkdirSync(path.join(tmp, "home"));
      fs.mkdirSync(path.join(tmp, "backend"));
      const root = path.join(tmp, "root");
      project = path.join(root, "labs");
      fs.mkdirSync(project, { recursive: true });
      fs.copyFileSync(path.join(repo, "package.json"), path.join(root, "package.json"));
      for (const d of ["dist", "node_modules"]) fs.symlinkSync(path.join(repo, d), path.join(root, d));
      for (const f of ["Pulumi.yaml", "index.js", `Pulumi.${sc.stack}.yaml`]) fs.copyFileSync(path.join(repo, "labs", f), path.join(project, f));
      await pulumi("login", `file://${path.join(tmp, "backend")}`);
      await pulumi("stack", "init", sc.stack, "--secrets-provider", "passphrase");
      await setConfig({ sandbox: box.name });
    });
    afterAll(async () => {
      await box?.dispose();
      if (tmp) {
        await pulumi("stack", "rm", sc.stack, "--yes", "--force").catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it("up builds the lab and it verifies", async () => {
      await onStack("up", "--yes", "--skip-preview");
      const o = await outputs();
      expectVerified(o);
      for (const c of Object.values(o.containers as Record<string, { pid?: number }>)) if (c.pid) pids.push(c.pid);
      expect(pids.every(alive)).toBe(true);
      expect(await netnsList(box)).toEqual(expect.arrayContaining(sc.namespaces.filter((n) => n !== "frontend")));
    });

    it("an MTU change previews as in-place updates and applies as such", async () => {
      await setConfig(sc.update);
      const steps = await previewOps();
      expect(Object.entries(steps).filter(([k]) => k.startsWith("Bridge:")).map(([, op]) => op)).toEqual(expect.arrayContaining(["update"]));
      expect(Object.values(steps)).not.toContain("replace");
      await onStack("up", "--yes", "--skip-preview");
      const bridges = (await outputs()).topology.bridges as Array<{ name: string; mtu: number }>;
      for (const b of bridges) expect(await iface(box, b.name)).toMatchObject({ mtu: 1400 });
    });

    it("a renamed object is replaced", async () => {
      await setConfig(sc.replace);
      const steps = await previewOps();
      expect(Object.values(steps)).toContain("replace");
      await onStack("up", "--yes", "--skip-preview");
      expectVerified(await outputs());
      expect(await curlFromOutside(box, sc.published[0])).toBe(sc.published[1]);
    });

    it("refresh notices an out-of-band deletion; the next up repairs it", async () => {
      await box.sh(sc.breakIt);
      await onStack("refresh", "--yes", "--skip-preview");
      await onStack("up", "--yes", "--skip-preview");
      expect(await netnsList(box)).toEqual(sc.namespaces);
      const o = await outputs();
      expectVerified(o);
      for (const c of Object.values(o.containers as Record<string, { pid?: number }>)) if (c.pid && !pids.includes(c.pid)) pids.push(c.pid);
    });

    it("destroy leaves nothing behind", async () => {
      await onStack("destroy", "--yes", "--skip-preview");
      expect(await netnsList(box)).toEqual([]);
      expect((await box.sh("ip -br link")).split("\n").filter(Boolean).map((l) => l.split(/[\s@]/)[0]).sort()).toEqual(["eth0", "lo"]);
      expect(await box.sh("iptables-save")).not.toMatch(/BRIDGELAB|bridgelab/);
      expect((await box.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("0");
      for (const pid of pids) expect(alive(pid)).toBe(false);
    });
  });
}
