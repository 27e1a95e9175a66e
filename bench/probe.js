"use strict";
/**
 * Loaded with NODE_OPTIONS=--require into the processes an engine run starts (the program runner
 * `@pulumi/pulumi/cmd/run` and the plugin `@pulumi/pulumi/cmd/dynamic-provider`) by
 * bench/fixedCost.ts, when BRIDGELAB_BENCH_PROBE names a file. It appends one JSON line per process
 * to that file (at exit; the plugin, which the engine stops with SIGTERM, when it gets it):
 *
 *   role       "runner" | "plugin" | "other" (from argv[1])
 *   origin     performance.timeOrigin: when this process started (epoch ms, as every time below)
 *   probe      when this file ran: Node's own bootstrap is done, nothing else is loaded yet
 *   port       plugin: its first stdout write (the gRPC port: it is ready to serve)
 *   program    runner: [start, end] of the require of the program's main module (ts-node compiling
 *              it and everything it imports, and running its top level)
 *   modules    per package, the SELF time (ms) and count of the modules it loaded: a module's
 *              handler time (read, compile — ts-node's included —, run its top level) minus the
 *              modules it required meanwhile, which count for their own package. Files outside
 *              node_modules: "program" (the main module) or "bridgelab" (everything else here).
 *   end        when the line was written
 *   hwmKb      VmHWM then: the process's peak resident memory
 *   cpuMs      CPU time (user + system) then: unlike wall time, barely moved by other load
 *
 * Cost: two clock reads and a map update per module loaded (~1,500 in a runner), well under 10 ms.
 */
const fs = require("fs");
const path = require("path");
const Module = require("module");

const file = process.env.BRIDGELAB_BENCH_PROBE;
if (file) {
  const now = () => performance.timeOrigin + performance.now();
  const script = process.argv[1] || "";
  const role = /cmd[\\/]run[\\/]?(index\.js)?$/.test(script) ? "runner" : /cmd[\\/]dynamic-provider[\\/]?(index\.js)?$/.test(script) ? "plugin" : "other";
  const rec = { pid: process.pid, role, origin: performance.timeOrigin, probe: now(), port: undefined, program: undefined, modules: {}, end: undefined };

  // The runner's last argument is the program; --pwd is where it runs from.
  let mainFile;
  if (role === "runner") {
    const pwd = (process.argv.find((a) => a.startsWith("--pwd=")) || "").slice(6) || process.cwd();
    const last = process.argv[process.argv.length - 1];
    try {
      mainFile = require.resolve(path.resolve(pwd, last), { paths: [pwd] });
    } catch {
      mainFile = undefined; // "." resolved later through package.json; no program interval then
    }
  }

  const pkgOf = (f) => {
    const i = f.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    if (i < 0) return f === mainFile ? "program" : "bridgelab";
    const parts = f.slice(i + 14).split(path.sep);
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  };
  const frames = [];
  const wrap = (orig) =>
    function probeHandler(m, filename) {
      const frame = { t0: now(), child: 0 };
      frames.push(frame);
      try {
        return orig.apply(this, arguments);
      } finally {
        const t1 = now();
        frames.pop();
        const dt = t1 - frame.t0;
        const k = pkgOf(filename);
        const e = rec.modules[k] || (rec.modules[k] = { ms: 0, n: 0 });
        e.ms += dt - frame.child;
        e.n++;
        if (frames.length) frames[frames.length - 1].child += dt;
        if (filename === mainFile && !rec.program) rec.program = [frame.t0, t1];
      }
    };
  for (const ext of [".js", ".json"]) Module._extensions[ext] = wrap(Module._extensions[ext]);

  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    rec.end = now();
    const cpu = process.cpuUsage();
    rec.cpuMs = Math.round((cpu.user + cpu.system) / 100) / 10;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
      if (m) rec.hwmKb = Number(m[1]);
    } catch {
      /* no /proc */
    }
    for (const e of Object.values(rec.modules)) e.ms = Math.round(e.ms * 10) / 10;
    try {
      fs.appendFileSync(file, JSON.stringify(rec) + "\n");
    } catch {
      /* the bench has gone: nothing to report to */
    }
  };
  process.on("exit", write);
  if (role === "plugin") {
    const w = process.stdout.write;
    process.stdout.write = function (...args) {
      if (rec.port === undefined) rec.port = now();
      process.stdout.write = w;
      return w.apply(this, args);
    };
    // The engine stops the plugin with SIGTERM, whose default action skips "exit" handlers.
    process.once("SIGTERM", () => {
      write();
      process.exit(143);
    });
  }
}
