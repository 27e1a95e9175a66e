import type { ProbeOutcome, ProbeSpec } from "../../provider/host/probeScripts";
import { runProbes } from "../../provider/resources/labProbe";
import { connectionIdentity } from "../../provider/resources/contract";
import { forgetPortClaims } from "../../provider/resources/portClaims";
import { portPublishProvider, PortPublishInputs, PortPublishOutputs } from "../../provider/resources/portPublish";
import type { SandboxConnection } from "../../provider/transport/connection";
import { DOCKER_IMAGE } from "../../provider/sandbox/sandboxDockerScripts";
import { buildDockerModes, buildWebAndDb, DockerModes } from "../support/dockerModesReference";
import { DockerBox, describeWithDocker, makeDockerSandbox } from "../support/dockerSandbox";
import { note } from "../support/notes";
import { useLab } from "./labHarness";

/**
 * bridgelab beside the real thing (issue 13, point 2): the docker-modes lab built by Docker
 * 20.10 on one sandbox host (test/support/dockerModesReference.ts) and by bridgelab, through
 * the test engine, on a twin; the same reachability matrix probed on both with LabProbe's
 * own probes, path by path. Every path must give the same result on both, except the
 * differences named in KNOWN, each explained in the README ("bridgelab and Docker, path by
 * path"). Then what a user meets beyond reachability: the error of a second `-p 8080`, the
 * order dynamic ports come in, ip_local_reserved_ports, and conntrack after unpublishing.
 */
const HOST = "198.51.100.2";

/** Paths beyond the lab's own expected ones, where Docker's userland proxy makes a difference. */
const EXTRA: ProbeSpec[] = [
  // docker-proxy listens on every address, 127.0.0.1 too; bridgelab's DNAT skips loopback (OUTPUT's `! -d 127.0.0.0/8`).
  { name: "http:host-to-loopback-published-web:80", from: "host", kind: "http", target: "127.0.0.1:8080", expect: "reach" },
  // A container through its own published port: Docker's proxy answers; bridgelab's DNAT would need hairpin mode on the bridge port.
  { name: "http:web-to-itself-published:80", from: "web", kind: "http", target: `${HOST}:8080`, expect: "reach" },
  // A container of another (isolated) network through a published port.
  { name: "http:db-to-published-web:80", from: "db", kind: "http", target: `${HOST}:8080`, expect: "reach" },
];

/**
 * Where Docker and bridgelab differ, each for a reason (README, "bridgelab and Docker, path by
 * path"): path → [Docker's result, bridgelab's, Docker's with --userland-proxy=false].
 */
const KNOWN: Record<string, [string, string, string]> = {
  // docker-proxy listens on 127.0.0.1 too; without it Docker DNATs loopback (route_localnet=1 on docker0), bridgelab does not.
  "http:host-to-loopback-published-web:80": ["reach", "blocked", "reach"],
  // Through the proxy a container of any network reaches a published port; DNATed, the packet
  // crosses from one isolated bridge to another, and isolation drops it (Docker without its proxy too).
  "http:db-to-published-web:80": ["reach", "blocked", "blocked"],
};

describeWithDocker("docker-modes side by side: real Docker and bridgelab on twin sandbox hosts", () => {
  const lab = useLab("docker-modes", "dk-lab");
  let ref: DockerBox;
  /** Docker with --userland-proxy=false, web and db only: what the proxy changes. */
  let noProxy: DockerBox;
  let docker: DockerModes;
  let outputs: Record<string, any>;
  const labConnection = (): SandboxConnection => ({ kind: "sandbox", name: lab.box.name });

  beforeAll(async () => {
    // Both built at once: Docker's is done in seconds, the lab's engine run takes longer.
    const [, , s] = await Promise.all([
      makeDockerSandbox("dk-ref").then(async (box) => {
        ref = box;
        docker = await buildDockerModes(box);
      }),
      makeDockerSandbox("dk-noproxy", { daemonArgs: ["--userland-proxy=false"] }).then(async (box) => {
        noProxy = box;
        await buildWebAndDb(box);
      }),
      lab.engine("up", { verify: "false" }),
    ]);
    outputs = s.outputs as Record<string, any>;
  });
  afterAll(async () => {
    await Promise.all([ref?.dispose(), noProxy?.dispose()]);
    forgetPortClaims(connectionIdentity(labConnection()));
  });

  it("gives every container the same addresses and MACs", () => {
    const c = outputs.containers;
    const ours = (name: string) => Object.fromEntries(Object.entries(c[name].networks as Record<string, { address: string; mac: string }>).map(([n, v]) => [n, { ip: v.address, mac: v.mac }]));
    for (const name of ["web", "app", "backend", "db"]) expect({ name, ...ours(name) }).toEqual({ name, ...docker.networks[name] });
    expect(docker.networks.backend).toMatchObject({ bridge: { ip: "172.17.0.4" }, database: { ip: "172.19.0.2" } });
  });

  it("reaches, and blocks, the same paths: the lab's expected matrix and three more, probed on both hosts", async () => {
    // What the proxy changes, on Docker without it: the reason for each known difference.
    const np = await runProbes({ kind: "sandbox", name: noProxy.name }, EXTRA);
    expect(np.map((o) => ({ path: o.name, docker: o.result }))).toEqual(EXTRA.map((p) => ({ path: p.name, docker: KNOWN[p.name]?.[2] ?? p.expect })));
    note(`Docker --userland-proxy=false: ${np.map((o) => `${o.name} ${o.result} (${o.detail})`).join("; ")}`);

    const blPort = outputs.containers.backend.ports["8000/tcp"][0].hostPort as number;
    const paths = [...(outputs.expectedPaths as ProbeSpec[]), ...EXTRA];
    // The backend's dynamic port is each host's own.
    const onDocker = paths.map((p) => ({ ...p, target: p.target === `${HOST}:${blPort}` ? `${HOST}:${docker.backendPort}` : p.target }));
    const [d, b] = await Promise.all([runProbes({ kind: "sandbox", name: ref.name }, onDocker), runProbes(labConnection(), paths)]);
    const rows = paths.map((p, i) => ({ name: p.name, expect: p.expect, docker: d[i], bridgelab: b[i] }));
    const show = (o: ProbeOutcome) => `${o.result} (${o.detail})`;
    const differ = rows.filter((r) => r.docker.result !== r.bridgelab.result);
    note(`docker-modes, ${rows.length} paths: ${rows.length - differ.length} alike on Docker and bridgelab; differ: ${differ.map((r) => `${r.name} docker=${show(r.docker)} bridgelab=${show(r.bridgelab)}`).join("; ")}`);
    // Path by path: the same result on both (the lab's expectation), or the known difference.
    const got = rows.map((r) => ({ path: r.name, docker: r.docker.result, bridgelab: r.bridgelab.result }));
    const want = rows.map((r) => ({ path: r.name, docker: KNOWN[r.name]?.[0] ?? r.expect, bridgelab: KNOWN[r.name]?.[1] ?? r.expect }));
    expect(got).toEqual(want);
    expect(rows.length).toBeGreaterThan(30);
  });

  it("shows published ports as docker ps does, IPv6 aside", () => {
    expect(docker.ports.web).toBe("0.0.0.0:8080->80/tcp, :::8080->80/tcp");
    expect(outputs.containers.web.published).toEqual(["0.0.0.0:8080->80/tcp"]);
    expect(docker.ports.backend).toBe(`0.0.0.0:${docker.backendPort}->8000/tcp, :::${docker.backendPort}->8000/tcp`);
  });

  // --- PortPublish beside `docker run -p` ---------------------------------------------------
  const urn = (name: string) => `urn:pulumi:parity::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::${name}`;
  async function publish(news: Record<string, unknown>): Promise<PortPublishOutputs> {
    forgetPortClaims(connectionIdentity(labConnection()));
    const r = await portPublishProvider.check!({}, { connection: labConnection(), bridge: "docker0", owner: urn(String(news.name)), ...news });
    expect(r.failures).toEqual([]);
    return (await portPublishProvider.create(r.inputs as PortPublishInputs)).outs as PortPublishOutputs;
  }
  const unpublish = (o: PortPublishOutputs) => portPublishProvider.delete!(o.name, o);
  /** `docker run -d --name NAME ARGS… IMAGE sleep 600`: its exit status and stderr. */
  const dockerRun = (name: string, ...args: string[]) => ref.docker("run", "-d", "--name", name, ...args, DOCKER_IMAGE, "sleep", "600");
  const dockerPort = async (name: string) => Number(/:(\d+)$/m.exec(await ref.dockerOk("port", name, "80/tcp"))?.[1]);

  it("refuses a second -p 8080 in Docker's words; a port a socket holds, each in its own", async () => {
    const d = await dockerRun("web2", "-p", "8080:80");
    expect(d.code).toBe(125);
    expect(d.stderr).toContain("Bind for 0.0.0.0:8080 failed: port is already allocated");
    await ref.dockerOk("rm", "-f", "web2");
    await expect(publish({ name: "web2", hostPort: 8080, address: "172.17.0.9", port: 80 })).rejects.toThrow(/Bind for 0\.0\.0\.0:8080 failed: port is already allocated \(port publish "web-tcp-80" of stack "docker-modes"/);
    // 8081: the host-mode service listens there. Docker's userland proxy fails to bind it;
    // bridgelab (no proxy) finds the socket before writing a rule, and says which.
    const h = await dockerRun("web3", "-p", "8081:80");
    expect(h.stderr).toContain("Error starting userland proxy: listen tcp4 0.0.0.0:8081: bind: address already in use");
    await ref.dockerOk("rm", "-f", "web3");
    await expect(publish({ name: "web3", hostPort: 8081, address: "172.17.0.9", port: 80 })).rejects.toThrow(/Bind for 0\.0\.0\.0:8081 failed: port is already allocated \(a socket listens there: .*:8081 /s);
  });

  it("draws dynamic ports from the same range in the same order, round the range; bridgelab also skips ip_local_reserved_ports", async () => {
    const made: PortPublishOutputs[] = [];
    const dyn = async (i: number) => {
      const o = await publish({ name: `dyn${i}`, hostPort: 0, address: `172.17.0.${50 + i}`, port: 80 });
      made.push(o);
      return o;
    };
    const names: string[] = [];
    const run = async (i: number) => {
      names.push(`dyn${i}`);
      expect((await dockerRun(`dyn${i}`, "-p", "80")).code).toBe(0);
      return dockerPort(`dyn${i}`);
    };
    try {
      // After the backend's: three more, the second given back, then one more.
      const seq = { docker: [] as number[], bridgelab: [] as number[] };
      for (const i of [1, 2, 3]) {
        seq.docker.push(await run(i));
        seq.bridgelab.push((await dyn(i)).hostPort);
      }
      await ref.dockerOk("rm", "-f", "dyn2");
      await unpublish(made.splice(1, 1)[0]);
      seq.docker.push(await run(4));
      seq.bridgelab.push((await dyn(4)).hostPort);
      const first = docker.backendPort;
      expect(seq.docker).toEqual([first + 1, first + 2, first + 3, first + 4]);
      expect(seq.bridgelab).toEqual(seq.docker);

      // The next three ports reserved on both hosts: Docker 20.10 hands out the first of them
      // anyway, bridgelab the first after them.
      const reserved = `${first + 5}-${first + 7}`;
      await Promise.all([ref.sh(`echo ${reserved} >/proc/sys/net/ipv4/ip_local_reserved_ports`), lab.box.sh(`echo ${reserved} >/proc/sys/net/ipv4/ip_local_reserved_ports`)]);
      expect(await run(5)).toBe(first + 5);
      expect((await dyn(5)).hostPort).toBe(first + 8);
      note(`dynamic ports after the backend's ${first}: docker ${[...seq.docker, first + 5].join(", ")}; bridgelab ${[...seq.bridgelab, first + 8].join(", ")} (reserved ${reserved})`);
    } finally {
      await Promise.all([ref.sh("echo >/proc/sys/net/ipv4/ip_local_reserved_ports"), lab.box.sh("echo >/proc/sys/net/ipv4/ip_local_reserved_ports")]);
      for (const o of made) await unpublish(o);
      if (names.length) await ref.docker("rm", "-f", ...names);
    }
  });

  it("leaves no conntrack entry of a mapping once it is unpublished (tcp and udp)", async () => {
    /** Flows to host ports 8090 (tcp) and 5353 (udp) from the outside: a fetch and a datagram. */
    const flows = (box: { outside: (s: string) => Promise<string> }) =>
      box.outside(`curl -s -o /dev/null --max-time 3 http://${HOST}:8090/; echo ping | socat -T1 - UDP:${HOST}:5353,sourceport=45353 >/dev/null 2>&1; true`);
    const count = async (box: { sh: (s: string) => Promise<string> }) =>
      (await box.sh("{ conntrack -L -p tcp --orig-port-dst 8090; conntrack -L -p udp --orig-port-dst 5353; } 2>/dev/null || true")).split("\n").filter(Boolean).length;

    await ref.dockerOk("run", "-d", "--name", "pub", "-p", "8090:80", "-p", "5353:53/udp", DOCKER_IMAGE, "sh", "-c", "echo hi >/www/index.html; exec httpd -f -p 80 -h /www");
    await ref.sh("i=0; until ss -Hltn | grep -q ':8090 '; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done");
    // bridgelab: the same two mappings to the lab's web container (which stays; only the mappings go).
    const tcp = await publish({ name: "pub-tcp", hostPort: 8090, address: "172.17.0.2", port: 80 });
    const udp = await publish({ name: "pub-udp", protocol: "udp", hostPort: 5353, address: "172.17.0.2", port: 53 });
    await Promise.all([flows(ref), flows(lab.box)]);
    const before = { docker: await count(ref), bridgelab: await count(lab.box) };
    expect(before.docker).toBeGreaterThanOrEqual(2);
    expect(before.bridgelab).toBeGreaterThanOrEqual(2);

    await ref.dockerOk("rm", "-f", "pub");
    await unpublish(tcp);
    await unpublish(udp);
    const after = { docker: await count(ref), bridgelab: await count(lab.box) };
    note(`conntrack entries of a mapping before/after unpublishing: docker ${before.docker}/${after.docker} (docker rm -f), bridgelab ${before.bridgelab}/${after.bridgelab} (PortPublish delete)`);
    expect(after).toEqual({ docker: 0, bridgelab: 0 });
  });
});

