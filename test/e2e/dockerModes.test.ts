import * as fs from "node:fs";
import { alive, changed, curlFromOutside, expectNothingLeft, expectVerified, iface, ipJson, netnsList, ops, useLab } from "./labHarness";

// Stack docker-modes (seeds 001/002) end to end through the test engine on a sandbox host:
// Docker's bridge, host, none and container modes and an isolated custom bridge, checked in
// the kernel and by their paths; then an in-place update, a replacement (a renamed
// container), refresh after out-of-band changes, repair, and destroy down to nothing.
const lab = useLab("docker-modes", "e2e-docker");
const pids: number[] = [];
const mtu = { mtu: "1400" };
const renamed = { ...mtu, webName: "frontend" };
let dynamicPort = 0;
/** The namespace a process runs in, as /proc/PID/ns/net names it. */
const netOf = (pid: number) => fs.readlinkSync(`/proc/${pid}/ns/net`);

describe("stack docker-modes through the test engine", () => {
  it("up builds Docker's modes, and the lab verifies", async () => {
    const s = await lab.engine("up");
    const created = ops(s);
    expect(Object.values(created).every((op) => op === "create")).toBe(true);
    expect(Object.keys(created).sort()).toEqual(
      [
        "Bridge:default",
        "Bridge:database",
        "Egress:default",
        "Egress:database",
        "BridgeIsolation:default",
        "BridgeIsolation:database",
        ...["web", "backend", "db", "app", "nonet"].map((n) => `NetNamespace:${n}`),
        ...["web-eth0", "backend-eth0", "backend-eth1", "db-eth0", "app-eth0"].map((n) => `VethPair:${n}`),
        ...["web", "backend", "db", "app", "sidecar", "hostsvc"].map((n) => `Process:${n}`),
        "PortPublish:web-tcp-80",
        "PortPublish:backend-tcp-8000",
        "LabProbe:verification",
      ].sort(),
    );
    const { box } = lab;
    expect(await iface(box, "docker0")).toMatchObject({ cidrs: ["172.17.0.1/16"] });
    expect(await iface(box, "br-database")).toMatchObject({ cidrs: ["172.19.0.1/16"] });
    // Bridge mode: eth0 inside, the address and MAC Docker would give (web asks for the first slot).
    expect(await netnsList(box)).toEqual(["app", "backend", "db", "nonet", "web"]);
    expect(await iface(box, "eth0", "web")).toMatchObject({ cidrs: ["172.17.0.2/16"], mac: "02:42:ac:11:00:02" });
    expect(await box.sh("ip -n web route show default")).toContain("default via 172.17.0.1 dev eth0");
    // The backend on both networks: eth0 on docker0 (with the default route), eth1 on br-database.
    expect(await iface(box, "eth0", "backend")).toMatchObject({ cidrs: ["172.17.0.4/16"] });
    expect(await iface(box, "eth1", "backend")).toMatchObject({ cidrs: ["172.19.0.2/16"], mac: "02:42:ac:13:00:02" });
    expect((await box.sh("ip -n backend route show default")).trim().split("\n")).toHaveLength(1);
    // None mode: a loopback, up, and nothing else.
    expect((await ipJson<{ ifname: string; operstate: string }>(box, "-n nonet link")).map((l) => l.ifname)).toEqual(["lo"]);
    // Isolation: each bridge's stage-2 DROP.
    const filter = await box.sh("iptables-save -t filter");
    expect(filter).toMatch(/-A BRIDGELAB-ISOLATION-STAGE-2 -o docker0 .*-j DROP/);
    expect(filter).toMatch(/-A BRIDGELAB-ISOLATION-STAGE-2 -o br-database .*-j DROP/);

    const out = s.outputs as Record<string, any>;
    const c = out.containers;
    // Container mode: the sidecar runs in app's namespace; host mode: hostsvc in the host's.
    expect(c.sidecar).toMatchObject({ mode: "container", netns: "app" });
    expect(netOf(c.sidecar.pid)).toBe(netOf(c.app.pid));
    expect(netOf(c.hostsvc.pid)).not.toBe(netOf(c.web.pid));
    expect(c.hostsvc).toMatchObject({ mode: "host", networks: {} });
    expect(c.hostsvc.netns).toBeUndefined();
    expect(c.nonet).toMatchObject({ mode: "none", netns: "nonet", networks: {}, published: [] });
    // Published ports: 8080 as asked, the backend's from ip_local_port_range.
    expect(c.web.published).toEqual(["0.0.0.0:8080->80/tcp"]);
    dynamicPort = c.backend.ports["8000/tcp"][0].hostPort;
    expect(c.backend.ports["8000/tcp"][0]).toMatchObject({ requestedHostPort: 0 });
    expect(dynamicPort).toBeGreaterThanOrEqual(1024);
    expect(await curlFromOutside(box, "198.51.100.2:8080")).toBe("hello from web");
    expect(await curlFromOutside(box, `198.51.100.2:${dynamicPort}`)).toBe("hello from backend");
    expect(await curlFromOutside(box, "198.51.100.2:8081")).toBe("hello from hostsvc"); // host mode: no NAT at all
    // docker network inspect.
    expect(out.networks.bridge).toMatchObject({
      Name: "bridge",
      IPAM: { Config: [{ Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" }] },
      Containers: { web: { IPv4Address: "172.17.0.2/16" }, app: { IPv4Address: "172.17.0.3/16" }, backend: { IPv4Address: "172.17.0.4/16" } },
      Options: { "com.docker.network.bridge.name": "docker0" },
    });
    expect(Object.keys(out.networks.database.Containers)).toEqual(["backend", "db"]);
    expect(out.topology.namespaces.find((n: { name: string }) => n.name === "app").containers).toEqual(["app", "sidecar"]);
    // Every mode's lesson among the verified paths.
    const matrix = expectVerified(s);
    expect(matrix.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        "ping:backend-to-db-on-br-database",
        "ping:app-to-db-on-br-database-isolated",
        "http:host-to-sidecar:9090",
        "http:host-to-app:9000",
        "http:outside-to-hostsvc:8081",
        "ping:nonet-to-egress",
        "http:outside-to-backend:8000",
      ]),
    );
    pids.push(...["web", "backend", "db", "app", "sidecar", "hostsvc"].map((n) => c[n].pid));
    expect(pids.every(alive)).toBe(true);
  });

  it("an MTU change updates both bridges and every veth in place", async () => {
    const s = await lab.engine("up", mtu);
    expect(changed(s)).toEqual({
      "Bridge:default": "update",
      "Bridge:database": "update",
      ...Object.fromEntries(["web-eth0", "backend-eth0", "backend-eth1", "db-eth0", "app-eth0"].map((n) => [`VethPair:${n}`, "update"])),
      "LabProbe:verification": "update",
    });
    expect(await iface(lab.box, "eth1", "backend")).toMatchObject({ mtu: 1400 });
    expect(await iface(lab.box, "br-database")).toMatchObject({ mtu: 1400 });
    expectVerified(s);
  });

  it("renaming a container replaces its namespace, veth, process and mapping; the dynamic port of another stays", async () => {
    const s = await lab.engine("up", renamed);
    expect(changed(s)).toEqual({
      "NetNamespace:web": "replace",
      "VethPair:web-eth0": "replace",
      "Process:web": "replace",
      "PortPublish:web-tcp-80": "replace",
      "LabProbe:verification": "update",
    });
    const { box } = lab;
    expect(await netnsList(box)).toEqual(["app", "backend", "db", "frontend", "nonet"]);
    expect(await iface(box, "eth0", "frontend")).toMatchObject({ cidrs: ["172.17.0.2/16"], mtu: 1400 });
    const c = (s.outputs as Record<string, any>).containers;
    expect(c.web).toBeUndefined();
    expect(c.frontend.published).toEqual(["0.0.0.0:8080->80/tcp"]);
    expect(c.backend.ports["8000/tcp"][0].hostPort).toBe(dynamicPort);
    expect(await curlFromOutside(box, "198.51.100.2:8080")).toBe("hello from frontend");
    expect(alive(pids[0])).toBe(false); // the old web server stopped
    pids.push(c.frontend.pid);
    expectVerified(s);
  });

  it("refresh notices a killed workload and a deleted namespace; the next up repairs both", async () => {
    const { box } = lab;
    const sidecarPid = pids[4];
    await box.sh(`kill -KILL ${sidecarPid}; ip netns del nonet`);
    const r = await lab.engine("refresh", renamed);
    const byName = Object.fromEntries(r.resources.map((x) => [`${x.type.split(":").pop()}:${x.name}`, x]));
    expect(byName["Process:sidecar"].op).toBe("gone");
    expect(byName["NetNamespace:nonet"].op).toBe("gone");
    expect(byName["LabProbe:verification"].changes).toContain("matrix");

    const u = await lab.engine("up", renamed);
    expect(changed(u)).toEqual({ "Process:sidecar": "create", "NetNamespace:nonet": "create", "LabProbe:verification": "update" });
    const c = (u.outputs as Record<string, any>).containers;
    expect(c.sidecar.pid).not.toBe(sidecarPid);
    expect(netOf(c.sidecar.pid)).toBe(netOf(c.app.pid));
    expect(await netnsList(box)).toContain("nonet");
    pids.push(c.sidecar.pid);
    expectVerified(u);
  });

  it("destroy leaves nothing behind", async () => {
    const s = await lab.engine("destroy", renamed);
    expect(new Set(Object.values(ops(s)))).toEqual(new Set(["delete"]));
    await expectNothingLeft(lab, pids);
  });
});
