import { shJoin, shQuote as q } from "../host/quote";
import { script } from "../host/script";

/**
 * Real Docker inside a sandbox host, as scripts (data; sandboxDocker.ts runs them inside the
 * sandbox with nsenter). Docker is the reference bridgelab's labs are compared with, so it
 * runs as it would on a real host — its own bridge, iptables rules, docker-proxy, cgroups —
 * but only ever inside a sandbox host: dockerd rewrites the iptables of the network namespace
 * it starts in, and the machine's own must never change.
 *
 * Everything Docker keeps lives in the sandbox host's own /run (a tmpfs of its mount
 * namespace, gone with it), at Docker's usual places so that a plain `docker` run inside the
 * sandbox finds the daemon:
 *
 *   /run/docker.sock  /run/docker.pid  /run/docker/ (exec root: containerd, netns, runc)
 *   /run/bridgelab-docker/   ours: daemon.json, key.json, data/ (the data root), dockerd.log,
 *                            and what start found (to put back at stop)
 *
 * and the daemon is, by hand:
 *
 *   bridgelab sandbox exec NAME -- sh -c 'dockerd --config-file /run/bridgelab-docker/daemon.json \
 *       --data-root /run/bridgelab-docker/data --exec-root /run/docker --pidfile /run/docker.pid \
 *       -H unix:///run/docker.sock --storage-driver vfs --cgroup-parent /bridgelab-docker-NAME-INODE &'
 *
 * - `--storage-driver vfs`: plain directories, no overlay mounts (the data root is a tmpfs).
 * - daemon.json moves `deprecated-key-path` (Docker 20.10's key.json, /etc/docker by default)
 *   into the sandbox: nothing is written to the machine's /etc, /var/lib or /root.
 * - cgroups: a sandbox host's /sys is a fresh sysfs with nothing under /sys/fs/cgroup, and runc
 *   fails without them (`mkdir /sys/fs/cgroup/cpuset/docker: no such file or directory`). Start
 *   mounts, in the sandbox's mount namespace only, a tmpfs on /sys/fs/cgroup and the machine's
 *   own hierarchies under it (read from /proc/1/mountinfo: cgroup v1 hierarchies by their
 *   options, or cgroup2 on a machine with the unified hierarchy only). The hierarchies are the
 *   machine's (a cgroup hierarchy is global), so containers go under a parent of their own,
 *   `/bridgelab-docker-NAME-INODE` (INODE: the sandbox's network namespace), which stop removes.
 * - The image: no registry. /bin/busybox of busybox-static and a link per applet, `docker import`ed
 *   as bridgelab/busybox (sh, httpd, nc, sleep…).
 *
 * The client is always /usr/bin/docker (Debian's docker.io, the engine's own version):
 * another `docker` may come first on PATH (a newer client elsewhere, /usr/local/bin/docker),
 * and the output formats compared here (docker ps, errors) are the engine's own version's.
 */
export const DOCKER_CLIENT = "/usr/bin/docker";
/** Where Debian's docker.io puts the daemon; /usr/bin/dockerd on other builds. */
export const DOCKERD_CANDIDATES = ["/usr/sbin/dockerd", "/usr/bin/dockerd"];
export const BUSYBOX = "/bin/busybox";
/** The image start imports, and every test and bench container runs. */
export const DOCKER_IMAGE = "bridgelab/busybox:latest";

/** The marker a sandbox host where Docker was started carries, in its directory ($ROOT/NAME/docker.json). */
export const DOCKER_MARKER_FILE = "docker.json";
/** Our own directory inside the sandbox host's /run. */
export const DOCKER_STATE_DIR = "/run/bridgelab-docker";
export const DOCKER_EXEC_ROOT = "/run/docker";
export const DOCKER_SOCKET = "/run/docker.sock";
export const DOCKER_PIDFILE = "/run/docker.pid";
/** What Docker (and containerd's shims) create in the sandbox's /run; stop removes those start did not find. */
const RUN_ENTRIES = ["docker", "docker.sock", "docker.pid", "containerd"];

/** Exit statuses of the start script. */
export const EXIT_DOCKER_MISSING = 69;
export const EXIT_DOCKER_RUNNING = 73;
export const EXIT_MACHINE_NETNS = 70;

const S = DOCKER_STATE_DIR;

/** `docker` with the engine's own client and socket: `docker ps -q` → `/usr/bin/docker -H unix:///run/docker.sock ps -q`. */
export function dockerArgv(args: readonly string[]): string[] {
  return [DOCKER_CLIENT, "-H", `unix://${DOCKER_SOCKET}`, ...args];
}

/**
 * Refuse to go on in the machine's own network namespace (pid 1's): dockerd would rewrite its
 * iptables. The scripts run under nsenter into the sandbox; this guards against a mistake.
 */
const notTheMachine = [
  `if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then echo "refusing to run Docker in the machine's own network namespace; run it inside a sandbox host" >&2; exit ${EXIT_MACHINE_NETNS}; fi`,
];

/**
 * Mount the machine's cgroup hierarchies in the sandbox's mount namespace: a tmpfs on
 * /sys/fs/cgroup, then for each cgroup v1 mount of pid 1 the same hierarchy at the same place
 * (`mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu`; `none,name=systemd` for a named one),
 * or cgroup2 on /sys/fs/cgroup itself when that is how the machine has it. With no cgroup
 * mount on the machine at all, the usual v1 set. Each mount made is written to
 * $S/mounts (undone in reverse by stop); what is there already is left alone.
 */
const mountCgroupsLines = [
  `: >${S}/mounts`,
  "mnt() { mkdir -p \"$3\"; mount -t \"$1\" -o \"$2\" \"$1\" \"$3\" && echo \"$3\" >>" + `${S}/mounts; }`,
  // " - cgroup cgroup rw,cpu" → "cgroup /sys/fs/cgroup/cpu rw,cpu"
  `layout=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; t = $(i + 1); if (t == "cgroup" || t == "cgroup2") print t, $5, $(i + 3) }' /proc/1/mountinfo)`,
  'if printf \'%s\\n\' "$layout" | grep -q \'^cgroup2 /sys/fs/cgroup \'; then',
  '  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || mnt cgroup2 rw /sys/fs/cgroup',
  "else",
  '  [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] || mnt tmpfs mode=755 /sys/fs/cgroup',
  `  [ -n "$layout" ] || layout=$(for h in cpu cpuacct cpuset memory devices freezer blkio pids; do echo "cgroup /sys/fs/cgroup/$h rw,$h"; done; echo "cgroup /sys/fs/cgroup/systemd rw,name=systemd")`,
  '  printf \'%s\\n\' "$layout" | while read -r type dir opts; do',
  '    [ "$type" = cgroup ] || continue',
  // The same controllers and name as the machine's; a hierarchy without a controller needs "none".
  "    o=$(printf '%s' \"$opts\" | tr , '\\n' | grep -Ev '^(rw|ro|relatime|noatime|nosuid|nodev|noexec)$' | paste -sd, -)",
  '    case ",$o," in *,name=*) printf \'%s\' "$o" | grep -Eq \'(^|,)(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|net_cls|net_prio|perf_event|hugetlb|rdma|misc)(,|$)\' || o="none,$o" ;; esac',
  '    [ "$(stat -fc %T "$dir" 2>/dev/null)" = cgroupfs ] || mnt cgroup "$o" "$dir"',
  "  done",
  "fi",
];

/**
 * Start dockerd inside the sandbox host NAME (the script runs there). Refuses when a daemon
 * already runs there (EXIT_DOCKER_RUNNING), when dockerd or the client is missing
 * (EXIT_DOCKER_MISSING, naming the package), and in the machine's own namespace. Remembers
 * what stop must put back — ip_forward, bridge-nf-call-iptables, FORWARD's policy, whether
 * docker0 existed, what was in /run — then mounts cgroups and starts the daemon detached (its
 * own session; output in $S/dockerd.log), with DAEMON_ARGS after ours (`--userland-proxy=false`).
 * Readiness is dockerReadyScript's business.
 */
export function dockerStartScript(name: string, daemonArgs: readonly string[] = []): string {
  return script([
    "set -eu",
    ...notTheMachine,
    "dockerd=''",
    `for d in ${DOCKERD_CANDIDATES.join(" ")}; do [ -x "$d" ] && { dockerd=$d; break; }; done`,
    `[ -n "$dockerd" ] && [ -x ${DOCKER_CLIENT} ] || { echo "Docker is not installed: no ${DOCKERD_CANDIDATES.join(" or ")} or no ${DOCKER_CLIENT} (Debian/Ubuntu: apt-get install docker.io)" >&2; exit ${EXIT_DOCKER_MISSING}; }`,
    `[ -x ${BUSYBOX} ] || { echo "no ${BUSYBOX} for the image (Debian/Ubuntu: apt-get install busybox-static)" >&2; exit ${EXIT_DOCKER_MISSING}; }`,
    `if [ -s ${DOCKER_PIDFILE} ] && kill -0 "$(cat ${DOCKER_PIDFILE})" 2>/dev/null; then echo "dockerd already runs in this sandbox host (pid $(cat ${DOCKER_PIDFILE}))" >&2; exit ${EXIT_DOCKER_RUNNING}; fi`,
    `if [ -d ${S} ]; then echo "${S} is left from an earlier start: stop Docker in this sandbox host first" >&2; exit ${EXIT_DOCKER_RUNNING}; fi`,
    `mkdir -p ${S}`,
    // What stop puts back.
    `ls -A /run >${S}/run.before`,
    `cat /proc/sys/net/ipv4/ip_forward >${S}/ip_forward.before`,
    `cat /proc/sys/net/bridge/bridge-nf-call-iptables >${S}/bridge-nf-call-iptables.before 2>/dev/null || true`,
    `iptables -w -S FORWARD | awk '$1 == "-P" { print $3; exit }' >${S}/forward-policy.before`,
    `if ip link show docker0 >/dev/null 2>&1; then echo yes; else echo no; fi >${S}/docker0.before`,
    `cg=${q(`bridgelab-docker-${name}`)}-$(stat -L -c %i /proc/self/ns/net)`,
    `echo "$cg" >${S}/cgroup-parent`,
    ...mountCgroupsLines,
    `printf '{"deprecated-key-path": "%s"}\\n' ${S}/key.json >${S}/daemon.json`,
    `setsid "$dockerd" --config-file ${S}/daemon.json --data-root ${S}/data --exec-root ${DOCKER_EXEC_ROOT} --pidfile ${DOCKER_PIDFILE} -H unix://${DOCKER_SOCKET} --storage-driver vfs --cgroup-parent "/$cg"${daemonArgs.length ? ` ${shJoin(daemonArgs)}` : ""} </dev/null >>${S}/dockerd.log 2>&1 &`,
    `echo $! >${S}/dockerd.pid`,
  ]);
}

/**
 * Wait up to TIMEOUT seconds for the daemon to answer on its socket: exit 0 printing the
 * engine's version; exit 1 with the end of its log when it did not answer in time, 2 at once
 * when it died.
 */
export function dockerReadyScript(timeoutSec = 30): string {
  return script([
    `pid=$(cat ${S}/dockerd.pid 2>/dev/null || true)`,
    `i=0; while [ $i -lt ${timeoutSec * 10} ]; do`,
    `  if v=$(${shJoin(dockerArgv(["version", "--format", "{{.Server.Version}}"]))} 2>/dev/null); then echo "$v"; exit 0; fi`,
    `  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then tail -n 5 ${S}/dockerd.log >&2 2>/dev/null; exit 2; fi`,
    "  sleep 0.1; i=$((i + 1))",
    "done",
    `tail -n 5 ${S}/dockerd.log >&2 2>/dev/null; exit 1`,
  ]);
}

/**
 * The image, from the host's static busybox (no registry): a root with /bin/busybox, a
 * relative link per applet, /www and /tmp, imported with `docker import`; then one container
 * run to the end (`docker run --rm --network none IMAGE true`), which proves the rest works
 * (runc, cgroups, a static busybox: a dynamic one fails here, "no such file or directory").
 *
 *   tar -C ROOT -c . | docker import -c 'CMD ["/bin/sh"]' - bridgelab/busybox:latest
 */
export function dockerImageScript(image = DOCKER_IMAGE): string {
  const docker = (args: string[]) => shJoin(dockerArgv(args));
  return script([
    "set -eu",
    `if ${docker(["image", "inspect", image])} >/dev/null 2>&1; then exit 0; fi`,
    `d=$(mktemp -d ${S}/image.XXXXXX)`,
    `trap 'rm -rf "$d"' EXIT`,
    'mkdir -p "$d/bin" "$d/www" "$d/tmp" "$d/etc"',
    `cp ${BUSYBOX} "$d/bin/busybox"`,
    `for a in $(${BUSYBOX} --list); do [ "$a" = busybox ] || ln -s busybox "$d/bin/$a"; done`,
    `tar -C "$d" -c . | ${docker(["import", "-c", 'CMD ["/bin/sh"]', "-", image])} >/dev/null`,
    `${docker(["run", "--rm", "--network", "none", image, "true"])} || { echo "a container of ${image} did not run: is ${BUSYBOX} static (busybox-static)?" >&2; exit 1; }`,
  ]);
}

/**
 * Stop Docker in the sandbox host and put the host back as start found it. Idempotent: with
 * nothing started, nothing to do. In order:
 *
 * 1. every container removed (`docker rm -f`, KILL: a busybox httpd as pid 1 ignores TERM) and
 *    the user-defined networks with them (`docker network prune -f`: their bridges and rules);
 * 2. dockerd TERMed (containerd, its child, stops with it), KILLed after 15 s;
 * 3. leftovers KILLed: processes in our cgroup parent (a container whose shim died) and
 *    Docker's helpers (dockerd, containerd, containerd-shim, docker-proxy) in this sandbox's
 *    mount namespace;
 * 4. our cgroups removed from every hierarchy (`rmdir`, deepest first);
 * 5. mounts left below Docker's directories (network namespaces, shm) unmounted;
 * 6. Docker's iptables: rules in other chains jumping to DOCKER* or naming docker0 deleted,
 *    the DOCKER* chains flushed and removed (one `iptables-restore --noflush` per table, under
 *    bridgelab's host lock), FORWARD's policy put back; docker0 deleted if start did not find
 *    one; ip_forward and bridge-nf-call-iptables put back;
 * 7. the cgroup mounts start made unmounted; /run/docker*, /run/containerd (if start did not
 *    find them) and our directory removed.
 */
export function dockerStopScript(): string {
  const docker = (args: string[]) => shJoin(dockerArgv(args));
  return script([
    "set -u",
    ...notTheMachine,
    `[ -d ${S} ] || exit 0`,
    `pid=$(cat ${DOCKER_PIDFILE} 2>/dev/null || cat ${S}/dockerd.pid 2>/dev/null || true)`,
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then',
    `  ids=$(${docker(["ps", "-aq"])} 2>/dev/null || true)`,
    `  [ -z "$ids" ] || ${docker(["rm", "-f"])} $ids >/dev/null 2>&1 || true`,
    `  ${docker(["network", "prune", "-f"])} >/dev/null 2>&1 || true`,
    '  kill -TERM "$pid" 2>/dev/null || true',
    '  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done',
    '  kill -KILL "$pid" 2>/dev/null || true',
    "fi",
    `cg=$(cat ${S}/cgroup-parent 2>/dev/null || true)`,
    // A container's processes: in our cgroup (v1: any hierarchy, the pids one has them all; v2: the one tree).
    'leftovers() {',
    '  [ -z "$cg" ] || cat /sys/fs/cgroup/*/"$cg"/*/cgroup.procs /sys/fs/cgroup/"$cg"/*/cgroup.procs 2>/dev/null',
    '  me=$(readlink /proc/self/ns/mnt)',
    '  for p in /proc/[0-9]*; do',
    '    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] || continue',
    '    case "$(cat "$p/comm" 2>/dev/null)" in dockerd|containerd|containerd-shim*|docker-proxy) echo "${p#/proc/}" ;; esac',
    "  done",
    "}",
    "i=0; while [ $i -lt 50 ]; do left=$(leftovers | sort -u); [ -n \"$left\" ] || break; kill -KILL $left 2>/dev/null; sleep 0.1; i=$((i + 1)); done",
    'if [ -n "$cg" ]; then',
    '  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do [ -d "$h$cg" ] && find "$h$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done',
    "fi",
    `awk '{ print $5 }' /proc/self/mountinfo | grep -E '^(${DOCKER_EXEC_ROOT}|${S}|/run/containerd)/' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done`,
    ...dockerNetworkCleanupLines(),
    // Unmount what start mounted, last first.
    `[ ! -f ${S}/mounts ] || tac ${S}/mounts | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done`,
    `for e in ${RUN_ENTRIES.join(" ")}; do grep -qx "$e" ${S}/run.before 2>/dev/null || rm -rf "/run/$e"; done`,
    `rm -rf ${S}`,
    // What is still there is reported (and fails the stop).
    `left=$(leftovers | sort -u); [ -z "$left" ] || { echo "processes still running: $left" >&2; exit 1; }`,
    `[ -z "$cg" ] || ! ls -d /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg" 2>/dev/null | grep -q . || { echo "cgroups left: $cg" >&2; exit 1; }`,
    "exit 0",
  ]);
}

/**
 * Step 6 of stop. For each table, from `iptables-save -t TABLE`:
 *
 *   -D FORWARD -o docker0 -j DOCKER                       (rules elsewhere that jump to or name it)
 *   -F DOCKER                                             (then every DOCKER* chain flushed…)
 *   -X DOCKER                                             (…and removed)
 *
 * fed to `iptables-restore -w --noflush`, under bridgelab's host lock so a lab's script on the
 * same host never sees half of it (when bridgelab has been there: its lock file exists).
 */
function dockerNetworkCleanupLines(): string[] {
  const awk = [
    '/^:DOCKER/ { c[++n] = substr($1, 2) }',
    '/^-A / && $2 !~ /^DOCKER/ && (/ -j DOCKER/ || / -[io] docker0( |$)/) { sub(/^-A/, "-D"); print }',
    'END { for (i = 1; i <= n; i++) print "-F " c[i]; for (i = 1; i <= n; i++) print "-X " c[i] }',
  ].join("\n");
  return [
    "(",
    // Only where bridgelab has been (its lock file exists): stop must not leave one behind.
    "  if [ -e /run/bridgelab.lock ]; then exec 9>>/run/bridgelab.lock; flock -w 60 9 || exit 75; fi",
    "  for t in filter nat; do",
    `    ops=$(iptables-save -t "$t" 2>/dev/null | awk ${q(awk)})`,
    `    [ -z "$ops" ] || printf '*%s\\n%s\\nCOMMIT\\n' "$t" "$ops" | iptables-restore -w --noflush`,
    "  done",
    `  p=$(cat ${S}/forward-policy.before 2>/dev/null || true); [ -z "$p" ] || iptables -w -P FORWARD "$p"`,
    ")",
    `[ "$(cat ${S}/docker0.before 2>/dev/null)" = yes ] || ip link del docker0 2>/dev/null || true`,
    `v=$(cat ${S}/ip_forward.before 2>/dev/null || true); [ -z "$v" ] || echo "$v" >/proc/sys/net/ipv4/ip_forward`,
    `v=$(cat ${S}/bridge-nf-call-iptables.before 2>/dev/null || true); [ -z "$v" ] || echo "$v" >/proc/sys/net/bridge/bridge-nf-call-iptables`,
  ];
}
