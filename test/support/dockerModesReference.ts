import { DOCKER_IMAGE } from "../../provider/sandbox/sandboxDockerScripts";
import type { DockerBox } from "./dockerSandbox";

/**
 * The docker-modes lab (stacks/dockerModes.ts, seeds 001–003) built by real Docker, as a user
 * would type it, in a sandbox host where Docker runs (test/support/dockerSandbox.ts). The
 * containers are started in the order that gives them the addresses bridgelab's Network
 * hands out (in name order, web asking for the first slot): web 172.17.0.2, app .3, backend .4
 * and 172.19.0.2, db 172.19.0.3. Workloads are busybox's httpd serving "hello from NAME", and
 * nc relaying the sidecar's port to app's localhost, where the lab runs socat.
 *
 *   docker network create --subnet 172.19.0.0/16 --gateway 172.19.0.1 -o com.docker.network.bridge.name=br-database database
 *   docker run -d --name web -p 8080:80 IMAGE sh -c 'echo hello from web >/www/index.html; exec httpd -f -p 80 -h /www'
 *   docker run -d --name app IMAGE … httpd -f -p 127.0.0.1:9000 …
 *   docker run -d --name backend -p 8000 IMAGE … httpd -f -p 8000 …   ;  docker network connect database backend
 *   docker run -d --name db --network database IMAGE … httpd -f -p 5432 …
 *   docker run -d --name sidecar --network container:app IMAGE nc -ll -p 9090 -e nc 127.0.0.1 9000
 *   docker run -d --name hostsvc --network host IMAGE … httpd -f -p 8081 …
 *   docker run -d --name nonet --network none IMAGE sleep 1000000
 *
 * Each container's network namespace is then linked into the sandbox's /run/netns under the
 * container's name (`ln -s /run/docker/netns/ID /run/netns/web`), so LabProbe's probes, which
 * run `ip netns exec NAME …`, reach Docker's containers exactly as they reach the lab's.
 */
export interface DockerModes {
  /** The host port Docker allocated to the backend's `-p 8000`. */
  backendPort: number;
  /** Per container: its addresses and MACs on each network (docker inspect). */
  networks: Record<string, Record<string, { ip: string; mac: string }>>;
  /** `docker ps`'s PORTS column, per container. */
  ports: Record<string, string>;
}

const hello = (name: string, listen: string) => ["sh", "-c", `echo hello from ${name} >/www/index.html; exec httpd -f -p ${listen} -h /www`];

export async function buildDockerModes(box: DockerBox): Promise<DockerModes> {
  const d = box.dockerOk;
  await d("network", "create", "--subnet", "172.19.0.0/16", "--gateway", "172.19.0.1", "-o", "com.docker.network.bridge.name=br-database", "database");
  await d("run", "-d", "--name", "web", "-p", "8080:80", DOCKER_IMAGE, ...hello("web", "80"));
  await d("run", "-d", "--name", "app", DOCKER_IMAGE, ...hello("app", "127.0.0.1:9000"));
  await d("run", "-d", "--name", "backend", "-p", "8000", DOCKER_IMAGE, ...hello("backend", "8000"));
  await d("network", "connect", "database", "backend");
  await d("run", "-d", "--name", "db", "--network", "database", DOCKER_IMAGE, ...hello("db", "5432"));
  await d("run", "-d", "--name", "sidecar", "--network", "container:app", DOCKER_IMAGE, "nc", "-ll", "-p", "9090", "-e", "nc", "127.0.0.1", "9000");
  await d("run", "-d", "--name", "hostsvc", "--network", "host", DOCKER_IMAGE, ...hello("hostsvc", "8081"));
  await d("run", "-d", "--name", "nonet", "--network", "none", DOCKER_IMAGE, "sleep", "1000000");
  const own = ["web", "app", "backend", "db", "nonet"];
  const keys = (await d("inspect", "-f", "{{.Name}} {{.NetworkSettings.SandboxKey}}", ...own)).split("\n").map((l) => l.trim().replace(/^\//, "").split(" "));
  await box.sh(keys.map(([name, key]) => `ln -s ${key} /run/netns/${name}`).join("\n"));
  // Every server listening before anything is probed (busybox starts in milliseconds, but the
  // probes must never race it): each port answers a TCP connect from its own namespace.
  const listening: Array<[string | undefined, number]> = [["web", 80], ["app", 9000], ["app", 9090], ["backend", 8000], ["db", 5432], [undefined, 8081]];
  await box.sh(
    listening
      .map(([ns, port]) => `i=0; until ${ns ? `ip netns exec ${ns} ` : ""}ss -Hltn | grep -q ':${port} '; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done`)
      .join("\n"),
  );
  const networks: DockerModes["networks"] = {};
  for (const line of (await d("inspect", "-f", '{{.Name}} {{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}}/{{$e.MacAddress}} {{end}}', ...own)).split("\n")) {
    const [name, ...nets] = line.trim().replace(/^\//, "").split(" ");
    networks[name] = Object.fromEntries(nets.filter((n) => n.includes("=") && !n.endsWith("=/")).map((n) => { const [net, v] = n.split("="); const [ip, mac] = v.split("/"); return [net, { ip, mac }]; }));
  }
  const ports = Object.fromEntries((await d("ps", "--format", "{{.Names}}|{{.Ports}}")).split("\n").map((l) => l.split("|")));
  const backendPort = Number(/0\.0\.0\.0:(\d+)->8000\/tcp/.exec(ports.backend)?.[1]);
  return { backendPort, networks, ports };
}

/**
 * Just web (-p 8080:80, on the default bridge) and db (on the isolated network "database"),
 * linked into /run/netns as above: enough to probe what Docker's userland proxy changes, on a
 * daemon started with `--userland-proxy=false`.
 */
export async function buildWebAndDb(box: DockerBox): Promise<void> {
  const d = box.dockerOk;
  await d("network", "create", "--subnet", "172.19.0.0/16", "--gateway", "172.19.0.1", "-o", "com.docker.network.bridge.name=br-database", "database");
  await d("run", "-d", "--name", "web", "-p", "8080:80", DOCKER_IMAGE, ...hello("web", "80"));
  await d("run", "-d", "--name", "db", "--network", "database", DOCKER_IMAGE, ...hello("db", "5432"));
  const keys = (await d("inspect", "-f", "{{.Name}} {{.NetworkSettings.SandboxKey}}", "web", "db")).split("\n").map((l) => l.trim().replace(/^\//, "").split(" "));
  await box.sh(keys.map(([name, key]) => `ln -s ${key} /run/netns/${name}`).join("\n"));
  await box.sh("i=0; until ip netns exec web ss -Hltn | grep -q ':80 '; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done");
}
