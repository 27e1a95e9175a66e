import * as fs from "node:fs";
import { alive, curlFromOutside, expectNothingLeft, expectVerified, iface, netnsList, ops, useLab } from "./labHarness";

// Stack ecs-bridge-local end to end through the test engine on a sandbox host: seed 000's two
// ECS task definitions (static hostPort 8080, dynamic hostPort 0) realised with bridgelab's own
// resources on a host that plays one container instance. up → the seed's checks (inside the
// container, on the host, from outside) → a second static task refused with Docker's message
// at preview and at up, the lab untouched → destroy → nothing left. Four engine runs.
const lab = useLab("ecs-bridge-local", "e2e-ecs");
const STAT = "ecs-networking-demo-bridge-stat";
const DYN = "ecs-networking-demo-bridge-dyn";
const names = [`${STAT}-1-nginx`, `${DYN}-1-nginx`, `${DYN}-2-nginx`];
const pids: number[] = [];
let hostPorts: number[] = [];

describe("stack ecs-bridge-local through the test engine", () => {
  it("up realises one static and two dynamic tasks on docker0, reachable from outside on their host ports", async () => {
    const s = await lab.engine("up");
    const created = ops(s);
    expect(Object.values(created).every((op) => op === "create")).toBe(true);
    expect(Object.keys(created).sort()).toEqual(
      [
        "Bridge:bridge",
        "Egress:bridge",
        ...names.flatMap((n) => [`NetNamespace:${n}`, `VethPair:${n}-eth0`, `Process:${n}`, `PortPublish:${n}-tcp-80`]),
        "LabProbe:verification",
      ].sort(),
    );
    const { box } = lab;
    // `ip a sh docker0` on the instance; `ip a sh` / `ip r sh` inside the container, as in the seed.
    expect(await iface(box, "docker0")).toMatchObject({ cidrs: ["172.17.0.1/16"] });
    expect(await netnsList(box)).toEqual([...names].sort());
    expect(await iface(box, "eth0", names[0])).toMatchObject({ cidrs: ["172.17.0.2/16"], mac: "02:42:ac:11:00:02" });
    expect(await iface(box, "eth0", names[2])).toMatchObject({ cidrs: ["172.17.0.4/16"], mac: "02:42:ac:11:00:04" });
    const routes = await box.sh(`ip -n ${names[2]} route show`);
    expect(routes).toContain("default via 172.17.0.1 dev eth0");
    expect(routes).toMatch(/172\.17\.0\.0\/16 dev eth0 .*src 172\.17\.0\.4/);
    // `curl localhost:80` inside the container (ECS Exec in the seed).
    expect((await box.sh(`ip netns exec ${names[0]} curl -s --max-time 3 http://localhost:80/`)).trim()).toBe(`hello from ${names[0]}`);

    // Per task: the container's IP and docker ps's PORTS column, dynamic ports as allocated.
    const out = s.outputs as Record<string, any>;
    const [lo, hi] = (await box.sh("cat /proc/sys/net/ipv4/ip_local_port_range")).trim().split(/\s+/).map(Number);
    const stat = out.tasks[`${STAT}-1`];
    expect(stat).toEqual({
      family: STAT,
      containers: { nginx: { name: names[0], image: "nginx:alpine", ipAddress: "172.17.0.2", ports: "0.0.0.0:8080->80/tcp", hostPorts: { "80/tcp": 8080 } } },
    });
    hostPorts = [1, 2].map((n) => out.tasks[`${DYN}-${n}`].containers.nginx.hostPorts["80/tcp"]);
    expect(new Set(hostPorts).size).toBe(2);
    for (const [i, p] of hostPorts.entries()) {
      expect(p).toBeGreaterThanOrEqual(lo);
      expect(p).toBeLessThanOrEqual(hi);
      expect(out.tasks[`${DYN}-${i + 1}`].containers.nginx).toMatchObject({ ipAddress: `172.17.0.${3 + i}`, ports: `0.0.0.0:${p}->80/tcp` });
    }
    expect(out.dockerPs).toEqual([
      { names: names[0], image: "nginx:alpine", ports: "0.0.0.0:8080->80/tcp" },
      { names: names[1], image: "nginx:alpine", ports: `0.0.0.0:${hostPorts[0]}->80/tcp` },
      { names: names[2], image: "nginx:alpine", ports: `0.0.0.0:${hostPorts[1]}->80/tcp` },
    ]);
    // `docker network inspect bridge`.
    expect(out.network).toMatchObject({ Name: "bridge", IPAM: { Config: [{ Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" }] }, Options: { "com.docker.network.bridge.name": "docker0" } });
    expect(Object.keys(out.network.Containers).sort()).toEqual([...names].sort());

    // From outside (the 198.51.100.1 side) to the instance's address on each host port.
    expect(await curlFromOutside(box, "198.51.100.2:8080")).toBe(`hello from ${names[0]}`);
    expect(await curlFromOutside(box, `198.51.100.2:${hostPorts[0]}`)).toBe(`hello from ${names[1]}`);
    expect(await curlFromOutside(box, `198.51.100.2:${hostPorts[1]}`)).toBe(`hello from ${names[2]}`);
    expect(await box.sh("iptables-save -t nat")).toMatch(/--dport 8080 .*-j DNAT --to-destination 172\.17\.0\.2:80$/m);
    expectVerified(s);
    // The hello servers' pids, from the engine's state: all gone after destroy.
    const state = JSON.parse(fs.readFileSync(lab.stateFile(), "utf8")) as { resources: Array<{ type: string; outputs: { pid?: number } }> };
    pids.push(...state.resources.filter((r) => r.type.endsWith(":Process")).map((r) => r.outputs.pid!));
    expect(pids).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);
  });

  it("a second static task on hostPort 8080 is refused with Docker's message, at preview and at up, and the lab stays as it was", async () => {
    const tasks = JSON.stringify([
      { variant: "static", count: 2 },
      { variant: "dynamic", count: 2 },
    ]);
    for (const op of ["preview", "up"] as const) {
      const s = await lab.tryEngine(op, { tasks });
      expect(s.ok).toBe(false);
      expect(s.error).toContain(`task "${STAT}-2" container "nginx" hostPort 8080: Bind for 0.0.0.0:8080 failed: port is already allocated`);
      expect(s.error).toContain(`task "${STAT}-1" container "nginx" already publishes tcp 0.0.0.0:8080 on this host`);
      // The program stopped before declaring anything: no provider was asked to change the host.
      expect(s.resources.flatMap((r) => r.providerCalls).filter((c) => /Create|Update|Delete/.test(c))).toEqual([]);
    }
    expect(await netnsList(lab.box)).toEqual([...names].sort());
    expect(await curlFromOutside(lab.box, "198.51.100.2:8080")).toBe(`hello from ${names[0]}`);
    expect(await curlFromOutside(lab.box, `198.51.100.2:${hostPorts[1]}`)).toBe(`hello from ${names[2]}`);
  });

  it("destroy leaves nothing behind", async () => {
    const s = await lab.engine("destroy");
    expect(new Set(Object.values(ops(s)))).toEqual(new Set(["delete"]));
    await expectNothingLeft(lab, pids);
  });
});
