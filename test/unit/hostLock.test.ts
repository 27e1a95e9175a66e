import { IN_FLIGHT, hostQueueCount, inHostQueue } from "../../provider/resources/hostLock";

// Lock-taking scripts run one at a time per host from one process (hostLock.ts), so they do
// not fill the SSH connection's channels while waiting for the host's flock.
describe("inHostQueue", () => {
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it(`lets at most ${IN_FLIGHT} run at once per host, in order of arrival; other hosts run alongside`, async () => {
    const log: string[] = [];
    const running: Record<string, number> = {};
    const most: Record<string, number> = {};
    const job = (host: string, i: number) =>
      inHostQueue(host, async () => {
        running[host] = (running[host] ?? 0) + 1;
        most[host] = Math.max(most[host] ?? 0, running[host]);
        log.push(`${host}${i}+`);
        await tick();
        log.push(`${host}${i}-`);
        running[host]--;
        return i;
      });
    const results = await Promise.all([job("a", 1), job("a", 2), job("b", 1), job("a", 3), job("a", 4), job("a", 5)]);
    expect(results).toEqual([1, 2, 1, 3, 4, 5]);
    expect(most).toEqual({ a: IN_FLIGHT, b: 1 });
    // Started in order of arrival.
    expect(log.filter((l) => /^a\d\+$/.test(l))).toEqual(["a1+", "a2+", "a3+", "a4+", "a5+"]);
    // a3 waited for a slot: it started after a1 or a2 ended.
    expect(log.indexOf("a3+")).toBeGreaterThan(Math.min(log.indexOf("a1-"), log.indexOf("a2-")));
    // b did not wait for a.
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
  });

  it("a failure reaches its caller only, and the next in the queue still runs", async () => {
    const jobs = Array.from({ length: IN_FLIGHT }, () =>
      inHostQueue("c", async () => {
        await tick();
        throw new Error("boom");
      }),
    );
    const first = jobs[0];
    const second = inHostQueue("c", async () => "ran");
    await Promise.allSettled(jobs);
    await expect(first).rejects.toThrow("boom");
    await expect(second).resolves.toBe("ran");
  });

  it("forgets a host once its queue is idle", async () => {
    await Promise.all([inHostQueue("d", tick), inHostQueue("e", tick)]);
    await tick();
    expect(hostQueueCount()).toBe(0);
  });
});
