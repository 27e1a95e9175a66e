import * as fs from "node:fs";
import { deleteSandbox } from "../../provider/sandbox/sandboxHost";
import { sandboxDockerStarted, startSandboxDocker, stopSandboxDocker } from "../../provider/sandbox/sandboxDocker";
import { DOCKER_IMAGE } from "../../provider/sandbox/sandboxDockerScripts";
import { makeSandbox } from "../support/sandboxFixture";
import { DockerBox, describeWithDocker, dockerHostState, makeDockerSandbox } from "../support/dockerSandbox";

/**
 * Docker inside a sandbox host (provider/sandbox/sandboxDocker.ts): it starts, a container
 * published with -p answers from the sandbox's outside, and stop puts the sandbox host back
 * exactly as it was — links, rules, sysctls, /run, mounts — and leaves nothing on the machine
 * (no process, no cgroup, nothing in /etc/docker, /var/lib or ~/.docker). Deleting the sandbox
 * host with Docker still running takes the containers too.
 */
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
const ls = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : ["(absent)"]);
/**
 * What Docker could leave on the machine itself: files where dockerd, containerd and the client
 * keep theirs by default, and the cgroups of this test's sandbox hosts (only theirs: other
 * runs on the machine may have Docker in sandbox hosts of their own at the same time).
 */
const machineState = (sandboxes: string[]) => ({
  etcDocker: ls("/etc/docker"),
  varLibDocker: ls("/var/lib/docker"),
  varLibContainerd: ls("/var/lib/containerd"),
  rootDocker: ls("/root/.docker"),
  cgroups: fs.existsSync("/sys/fs/cgroup")
    ? fs.readdirSync("/sys/fs/cgroup").flatMap((h) => ls(`/sys/fs/cgroup/${h}`).filter((d) => sandboxes.some((n) => d.startsWith(`bridgelab-docker-${n}-`))).map((d) => `${h}/${d}`))
    : [],
});

describeWithDocker("Docker inside a sandbox host", () => {
  let box: Awaited<ReturnType<typeof makeSandbox>>;
  let docker: DockerBox | undefined;
  beforeAll(async () => {
    box = await makeSandbox("dk-start");
  });
  afterAll(async () => {
    await docker?.dispose();
    await box?.dispose();
  });

  it("starts, publishes a port as Docker does, and stop puts the sandbox host back as it was", async () => {
    const before = await dockerHostState(box);
    const machine = machineState([box.name]);
    const engine = await startSandboxDocker(box.name);
    expect(engine).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+/), image: DOCKER_IMAGE, client: "/usr/bin/docker" });
    expect(sandboxDockerStarted(box.name)).toBe(true);
    // A second start is refused, and changes nothing.
    await expect(startSandboxDocker(box.name)).rejects.toThrow(/dockerd already runs in this sandbox host/);

    const docker = (args: string) => box.sh(`/usr/bin/docker ${args}`);
    const id = (await docker(`run -d -p 8080:80 ${DOCKER_IMAGE} sh -c 'echo hello from docker >/www/index.html; exec httpd -f -p 80 -h /www'`)).trim();
    expect((await box.outside("curl -s --max-time 3 http://198.51.100.2:8080/")).trim()).toBe("hello from docker");
    expect(await docker(`ps --format '{{.Ports}}'`)).toMatch(/^0\.0\.0\.0:8080->80\/tcp/);
    expect(await box.sh("iptables-save -t nat")).toMatch(/-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80/);
    const pids = [Number(await box.sh("cat /run/docker.pid")), Number(await docker(`inspect -f '{{.State.Pid}}' ${id}`))];
    expect(pids.every(alive)).toBe(true);
    expect(machineState([box.name]).cgroups.length).toBeGreaterThan(0); // the container's, under our parent

    expect(await stopSandboxDocker(box.name)).toBe(true);
    expect(await dockerHostState(box)).toEqual(before);
    expect(machineState([box.name])).toEqual(machine);
    expect(pids.filter(alive)).toEqual([]);
    expect(sandboxDockerStarted(box.name)).toBe(false);
    expect(await stopSandboxDocker(box.name)).toBe(false); // idempotent
  });

  it("deleting the sandbox host with Docker running takes its containers too", async () => {
    docker = await makeDockerSandbox("dk-del");
    const machine = { ...machineState([docker.name]), cgroups: [] };
    const id = await docker.dockerOk("run", "-d", DOCKER_IMAGE, "sleep", "600");
    const pid = Number(await docker.dockerOk("inspect", "-f", "{{.State.Pid}}", id));
    expect(alive(pid)).toBe(true);
    const name = docker.name;
    expect(await deleteSandbox(name)).toBe(true);
    docker = undefined;
    expect(alive(pid)).toBe(false);
    expect(machineState([name])).toEqual(machine);
  });
});
