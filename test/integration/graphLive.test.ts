import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readLiveTopology } from "../../provider/graph/readLive";
import { renderTopologySvg } from "../../provider/graph/renderSvg";
import { addBridge, addContainer } from "../support/handmadeContainers";
import { TRANSPORTS, useHost } from "../support/hosts";
import { elementsNamed, parseXml } from "../support/xmlCheck";

// `bridgelab graph --live` against a real kernel, over both transports: a hand-made lab (br0,
// two containers, a namespace with only its loopback, a published port written the way
// PortPublish writes it) read back in one script and drawn.
const run = promisify(execFile);
const bin = path.resolve(__dirname, "..", "..", "bin", "bridgelab.js");
const DNAT = [
  "iptables -w -t nat -N BRIDGELAB-DNAT",
  "iptables -w -t nat -A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment bridgelab:v1:publish:web -j DNAT --to-destination 172.18.0.10:5000",
].join("\n");

describe.each(TRANSPORTS)("graph of the live host over %s", (kind) => {
  const host = useHost(kind, "it-graph");

  beforeAll(async () => {
    await addBridge(host, "br0", "172.18.0.1/16");
    await addContainer(host, "c1", [{ bridge: "br0", cidr: "172.18.0.10/16", gateway: "172.18.0.1" }]);
    await addContainer(host, "c2", [{ bridge: "br0", cidr: "172.18.0.20/16", gateway: "172.18.0.1" }]);
    await host.sh(`ip netns add lonely\n${DNAT}`);
  });

  it("reads bridges, namespaces, veths and published ports in one script", async () => {
    const t = await readLiveTopology(host.connection);
    expect(t.host.address).toBe("198.51.100.2");
    expect(t.bridges).toEqual([{ name: "br0", network: "br0", subnet: "172.18.0.0/16", gateway: "172.18.0.1", mtu: 1500, egress: false, isolated: false, icc: true }]);
    expect(t.namespaces.map((n) => [n.name, n.interfaces.map((i) => `${i.ifname} ${i.address}`)])).toEqual([
      ["c1", ["eth0 172.18.0.10/16"]],
      ["c2", ["eth0 172.18.0.20/16"]],
      ["lonely", []],
    ]);
    expect(t.veths.map((v) => [v.host.ifname, v.host.bridge, v.peer.netns, v.peer.ifname])).toEqual([
      ["v-c1-0", "br0", "c1", "eth0"],
      ["v-c2-0", "br0", "c2", "eth0"],
    ]);
    expect(t.containers.map((c) => [c.name, c.mode, c.gateway])).toEqual([
      ["c1", "bridge", "172.18.0.1"],
      ["c2", "bridge", "172.18.0.1"],
      ["lonely", "none", undefined],
    ]);
    expect(t.ports).toEqual([
      { container: "c1", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, requestedHostPort: 8080, address: "172.18.0.10", port: 5000, bridge: "br0", probe: "none" },
    ]);
    const texts = elementsNamed(parseXml(renderTopologySvg(t)), "text").map((e) => e.text);
    expect(texts).toEqual(expect.arrayContaining(["br0", "c1", "c2", "lonely", "v-c1-0", "tcp 0.0.0.0:8080 → 172.18.0.10:5000 (c1)"]));
  });

  if (kind === "sandbox") {
    it("`bridgelab graph --live --sandbox NAME` prints the SVG; --out writes it", async () => {
      const { stdout } = await run("node", [bin, "graph", "--live", "--sandbox", host.name], { encoding: "utf8" });
      const texts = elementsNamed(parseXml(stdout), "text").map((e) => e.text);
      expect(texts).toEqual(expect.arrayContaining([`bridgelab lab on sandbox ${host.name}`, "outside (stand-in internet)", "br0", "c1", "c2", "lonely"]));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-graph-"));
      try {
        const out = path.join(dir, "lab.svg");
        const r = await run("node", [bin, "graph", "--live", "--sandbox", host.name, "--out", out], { encoding: "utf8" });
        expect(r.stderr).toContain(`bridgelab graph: wrote ${out} (1 bridge, 3 namespaces)`);
        expect(fs.readFileSync(out, "utf8")).toBe(stdout);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
