import { hostSnapshotScript, parseHostSnapshot } from "../host/topologyScripts";
import { describeConnection, openTransport } from "../transport/connect";
import type { HostConnection } from "../transport/connection";
import { runChecked } from "../transport/types";
import type { Topology } from "../components/topology";
import { topologyFromSnapshot } from "./liveTopology";

/**
 * The topology of a host as it is now: one script over the connection (host/topologyScripts.ts),
 * then the pure parser. The host is named as a lab stack names it ("sandbox NAME").
 */
export async function readLiveTopology(c: HostConnection): Promise<Topology> {
  const t = openTransport(c);
  try {
    const r = await runChecked(t, hostSnapshotScript(), "reading the host's topology");
    const name = c.kind === "sandbox" ? `sandbox ${c.name}` : describeConnection(c);
    return topologyFromSnapshot(parseHostSnapshot(r.stdout), name);
  } finally {
    await t.close();
  }
}
