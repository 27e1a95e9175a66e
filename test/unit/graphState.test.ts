import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TOPOLOGY_VERSION } from "../../provider/components/topology";

// `bridgelab graph` without a source draws the lab that is up in the state directory: it says
// when none is up (an empty state after `down` is a lab that is down, not one without a
// topology) and asks for --stack when several are.
const bin = path.resolve(__dirname, "..", "..", "bin", "bridgelab.js");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-graphstate-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function graph(dir: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, "graph", "--state-dir", dir, ...args], { encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const topology = { version: TOPOLOGY_VERSION, host: { name: "sandbox lab" }, bridges: [], namespaces: [{ name: "netns0", interfaces: [] }], veths: [], containers: [], ports: [] };
const up = { version: 1, stack: "docker-modes", project: "bridgelab", resources: [{ urn: "u", type: "t", custom: true, id: "x" }], outputs: { topology } };
const down = { version: 1, stack: "netns-lab", project: "bridgelab", resources: [], outputs: {} };

describe("bridgelab graph, from the state `bridgelab up` keeps", () => {
  it("draws the one lab that is up, whichever it is", async () => {
    const dir = path.join(tmp, "one");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "netns-lab.json"), JSON.stringify(down));
    fs.writeFileSync(path.join(dir, "docker-modes.json"), JSON.stringify(up));
    const r = await graph(dir, ["--json"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).namespaces.map((n: { name: string }) => n.name)).toEqual(["netns0"]);
  });

  it("says a lab is down, or none is up, instead of 'holds no topology'", async () => {
    const dir = path.join(tmp, "down");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "netns-lab.json"), JSON.stringify(down));
    expect(await graph(dir)).toMatchObject({ code: 1, stderr: expect.stringContaining(`no lab is up in ${dir}: bring one up (\`bridgelab up\`)`) });
    expect(await graph(dir, ["--stack", "netns-lab"])).toMatchObject({ code: 1, stderr: expect.stringContaining('lab "netns-lab" is down (its state') });
    expect(await graph(dir, ["--stack", "basic"])).toMatchObject({ code: 1, stderr: expect.stringContaining('no state of lab "basic"') });
  });

  it("asks which when several labs are up", async () => {
    const dir = path.join(tmp, "two");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "docker-modes.json"), JSON.stringify(up));
    fs.writeFileSync(path.join(dir, "netns-lab.json"), JSON.stringify({ ...up, stack: "netns-lab" }));
    expect(await graph(dir)).toMatchObject({ code: 1, stderr: expect.stringContaining("several labs are up in") });
    expect((await graph(dir)).stderr).toContain("(docker-modes, netns-lab): choose one with --stack NAME");
  });
});
