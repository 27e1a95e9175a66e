import * as pulumi from "@pulumi/pulumi";

// The SSH transport is captured into the serialized dynamic provider: loading it must build
// nothing (no ssh2 Client, no pool), and Pulumi's closure serializer must accept it.
const POOL = Symbol.for("bridgelab.sshPool.v1");

describe("SSH transport module", () => {
  it("creates nothing at module load; the pool appears on globalThis on first use and is shared by every copy of the module", () => {
    let first: typeof import("../../provider/transport/sshPool") | undefined;
    let second: typeof import("../../provider/transport/sshPool") | undefined;
    jest.isolateModules(() => {
      require("../../provider/transport/connect");
      first = require("../../provider/transport/sshPool");
    });
    expect((globalThis as Record<symbol, unknown>)[POOL]).toBeUndefined();
    jest.isolateModules(() => {
      second = require("../../provider/transport/sshPool");
    });
    expect(first).not.toBe(second); // two copies, as the plugin loads one per provider
    expect(first!.sshPoolStats()).toEqual({ dialAttempts: 0, dials: 0, runs: 0, open: 0 });
    const pool = (globalThis as Record<symbol, { stats: { runs: number } }>)[POOL];
    expect(pool).toBeDefined();
    pool.stats.runs = 5;
    expect(second!.sshPoolStats().runs).toBe(5);
    delete (globalThis as Record<symbol, unknown>)[POOL];
  });

  it("serializes with pulumi.runtime.serializeFunction, capturing ssh2 by require", async () => {
    const { openTransport } = await import("../../provider/transport/connect");
    const fn = async (c: Parameters<typeof openTransport>[0]) => {
      const t = openTransport(c);
      try {
        return await t.run("true");
      } finally {
        await t.close();
      }
    };
    const s = await pulumi.runtime.serializeFunction(fn, { isFactoryFunction: false });
    expect(s.text).toMatch(/require\("ssh2(\/lib\/index\.js)?"\)/);
    expect(s.text).toContain("new ssh2_1.Client()");
    expect(s.text).not.toMatch(/^\S.*new ssh2_1\.Client\(/m); // only inside functions, never at module scope
  }, 60_000);
});
