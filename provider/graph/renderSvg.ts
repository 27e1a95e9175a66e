import type { Topology, TopologyBridge, TopologyNamespace, TopologyPort, TopologyVeth } from "../components/topology";

/**
 * A lab's topology as an SVG picture. Pure and deterministic: the same topology always gives
 * the same bytes. Layout, top to bottom:
 *
 *   ┌ outside ┐                       the stand-in internet (or the network beyond the host)
 *        │  198.51.100.2              the host's address, with the published ports beside it
 *   ┌ host ──────────────────────┐
 *   │ [br0] [docker0] …          │    bridges in a row, each placed over its namespaces
 *   └────────────────────────────┘
 *        │ veth0 … ceth0             a veth: host end on the bridge, peer in the namespace
 *   [netns0] [netns1] …               namespaces in a row, ordered by the bridge they hang on
 *
 * Every piece of text goes through escapeXml; nothing from the topology reaches markup
 * otherwise (numbers are formatted here).
 */
export interface RenderOptions {
  /** A line above the picture. @default "bridgelab lab on " + host name */
  title?: string;
  /** The box on top: its label and addresses. @default { label: "outside", addresses: [] } */
  outside?: { label: string; addresses: string[] };
}

/** Escape text for XML content and attribute values. */
export function escapeXml(s: string): string {
  // Characters XML 1.0 forbids outright are dropped (a control byte in a name must not break the file).
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const FONT = 12;
const CHAR_W = 7.2; // a generous average advance for 12px sans-serif
const LINE_H = 16;
const M = 20; // outer margin
const PAD = 10; // inside boxes
const GAP = 24; // between boxes in a row
const MIN_BOX_W = 170;
const MAX_BOX_W = 340;

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const textWidth = (s: string) => Math.ceil(s.length * CHAR_W);
const num = (n: number) => String(Math.round(n * 10) / 10);

/** The lines a bridge box shows: name, subnet, gateway and MTU, and its switches. */
export function bridgeLines(b: TopologyBridge): string[] {
  const flags = [b.egress ? "egress" : "no egress", ...(b.isolated ? ["isolated"] : []), ...(b.icc ? [] : ["icc off"])];
  return [
    b.network && b.network !== b.name ? `${b.name} (network ${b.network})` : b.name,
    b.subnet || "no address",
    `${b.gateway ? `gw ${b.gateway} · ` : ""}mtu ${b.mtu}`,
    flags.join(" · "),
  ];
}

/** The lines a namespace box shows: name, its containers if not just itself, interfaces, published ports. */
export function namespaceLines(ns: TopologyNamespace, ports: TopologyPort[]): string[] {
  const out = [ns.name];
  if (ns.containers.length > 1 || (ns.containers.length === 1 && ns.containers[0] !== ns.name)) out.push(`containers: ${ns.containers.join(", ")}`);
  if (ns.interfaces.length === 0) out.push("lo only");
  for (const i of ns.interfaces) {
    out.push(`${i.ifname} ${i.address ?? "(no address)"}`);
    if (i.mac) out.push(`  ${i.mac}`);
  }
  for (const p of ports) out.push(`port ${p.port}/${p.protocol} ← host ${p.hostIp === "0.0.0.0" ? "" : p.hostIp}:${p.hostPort}`);
  return out;
}

/** "tcp 0.0.0.0:8080 → 172.18.0.10:5000 (netns0)" */
export function portLabel(p: TopologyPort): string {
  return `${p.protocol} ${p.hostIp}:${p.hostPort}${p.requestedHostPort === 0 ? " (dynamic)" : ""} → ${p.address}:${p.port}${p.container ? ` (${p.container})` : ""}`;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const boxHeight = (lines: number) => PAD * 2 + lines * LINE_H;
/** Wide enough for the name (first line) always, and for the details up to MAX_BOX_W. */
const boxWidth = (lines: string[]) =>
  Math.max(MIN_BOX_W, textWidth(lines[0] ?? "") + PAD * 2, Math.min(MAX_BOX_W, Math.max(0, ...lines.slice(1).map((l) => textWidth(l) + PAD * 2))));
/** A detail line cut to fit a box of width w. */
const fit = (s: string, w: number) => {
  const max = Math.floor((w - PAD * 2) / CHAR_W);
  return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + "…";
};
const center = (b: Box) => b.x + b.w / 2;

/** Render the topology. */
export function renderTopologySvg(t: Topology, opts: RenderOptions = {}): string {
  const title = opts.title ?? `bridgelab lab on ${t.host.name}`;
  const outsideSpec = opts.outside ?? { label: "outside", addresses: [] };

  // --- namespaces: ordered by the mean position of the bridges they hang on (a namespace on two
  // bridges sits between them), then in the topology's order (by name); unattached ones last ---
  const bridgeIndex = new Map(t.bridges.map((b, i) => [b.name, i]));
  const vethsOf = (ns: string) => t.veths.filter((v) => v.peer.netns === ns);
  const meanBridge = (ns: string) => {
    const ix = vethsOf(ns).map((v) => (v.host.bridge !== undefined ? bridgeIndex.get(v.host.bridge) : undefined)).filter((i): i is number => i !== undefined);
    return ix.length ? ix.reduce((a, b) => a + b, 0) / ix.length : Infinity;
  };
  const nsOrder = t.namespaces.map((n, i) => ({ n, i, b: meanBridge(n.name) })).sort((a, b) => (a.b === b.b ? 0 : a.b < b.b ? -1 : 1) || a.i - b.i).map((x) => x.n);
  const portsTo = (ns: TopologyNamespace) => t.ports.filter((p) => t.containers.some((c) => c.name === p.container && c.netns === ns.name));
  // Veth end labels sit on evenly spaced slots along a box's edge: wide enough boxes keep them apart.
  const slotsWidth = (labels: string[]) => (labels.length ? (labels.length + 1) * (Math.max(...labels.map(textWidth)) + 12) : 0);
  const nsText = nsOrder.map((n) => namespaceLines(n, portsTo(n)));
  const nsW = nsText.map((l, i) => Math.max(boxWidth(l), slotsWidth(vethsOf(nsOrder[i].name).map((v) => v.peer.ifname))));
  const nsH = Math.max(0, ...nsText.map((l) => boxHeight(l.length)));

  // A bridge's host-end veth names are written inside its box, along the bottom, over their lines.
  const portsOf = (b: TopologyBridge) => t.veths.filter((v) => v.host.bridge === b.name).map((v) => v.host.ifname);
  const brText = t.bridges.map(bridgeLines);
  const brW = brText.map((l, i) => Math.max(boxWidth(l), slotsWidth(portsOf(t.bridges[i]))));
  const brH = Math.max(0, ...brText.map((l) => boxHeight(l.length))) + (t.veths.some((v) => v.host.bridge !== undefined) ? LINE_H : 0);

  const hostModes = t.containers.filter((c) => c.mode === "host").map((c) => c.name);
  const hostHeader = [`host: ${t.host.name}${t.host.address ? `  ${t.host.address}` : ""}`, ...(hostModes.length ? [`host network: ${hostModes.join(", ")}`] : [])];

  // --- vertical positions ---
  const titleY = M + FONT;
  const outside: Box = { x: 0, y: titleY + 14, w: Math.max(MIN_BOX_W, ...[outsideSpec.label, outsideSpec.addresses.join(" · ")].map((s) => textWidth(s) + PAD * 2)), h: boxHeight(outsideSpec.addresses.length ? 2 : 1) };
  const portLines = t.ports.map(portLabel);
  const uplinkGap = Math.max(60, 24 + portLines.length * LINE_H);
  const hostY = outside.y + outside.h + uplinkGap;
  const bridgesY = hostY + PAD + hostHeader.length * LINE_H + PAD;
  const hostH = bridgesY - hostY + (t.bridges.length ? brH + PAD * 2 : 0);
  const nsY = hostY + hostH + 70;

  // --- horizontal positions: namespaces in a row; bridges over the namespaces they serve ---
  const nsBoxes: Box[] = [];
  let x = M + PAD;
  nsOrder.forEach((_, i) => {
    nsBoxes.push({ x, y: nsY, w: nsW[i], h: nsH });
    x += nsW[i] + GAP;
  });
  const nsCenter = new Map(nsOrder.map((n, i) => [n.name, center(nsBoxes[i])]));
  const brBoxes: Box[] = [];
  let minX = M + PAD;
  t.bridges.forEach((b, i) => {
    const served = t.veths.filter((v) => v.host.bridge === b.name).map((v) => nsCenter.get(v.peer.netns)).filter((c): c is number => c !== undefined);
    const want = served.length ? served.reduce((a, c) => a + c, 0) / served.length - brW[i] / 2 : minX;
    const bx = Math.max(minX, want);
    brBoxes.push({ x: bx, y: bridgesY, w: brW[i], h: brH });
    minX = bx + brW[i] + GAP;
  });
  const right = Math.max(
    M + PAD + MIN_BOX_W,
    ...nsBoxes.map((b) => b.x + b.w),
    ...brBoxes.map((b) => b.x + b.w),
    M + PAD + Math.max(...hostHeader.map(textWidth)),
  );
  const host: Box = { x: M, y: hostY, w: right + PAD - M, h: hostH };
  outside.x = center(host) - outside.w / 2;
  const uplinkX = center(host);
  const portsRight = Math.max(0, ...portLines.map((l) => uplinkX + 12 + textWidth(l)));
  const width = Math.ceil(Math.max(host.x + host.w, portsRight, M + textWidth(title)) + M);
  const height = Math.ceil((nsOrder.length ? nsY + nsH : host.y + host.h) + M);

  // --- drawing ---
  const out: string[] = [];
  const text = (tx: number, ty: number, s: string, cls = "") => out.push(`<text x="${num(tx)}" y="${num(ty)}"${cls ? ` class="${cls}"` : ""}>${escapeXml(s)}</text>`);
  const rect = (b: Box, cls: string) => out.push(`<rect x="${num(b.x)}" y="${num(b.y)}" width="${num(b.w)}" height="${num(b.h)}" rx="6" class="${cls}"/>`);
  const lines = (b: Box, ls: string[], firstCls: string) => ls.forEach((l, i) => text(b.x + PAD, b.y + PAD + FONT + i * LINE_H, i === 0 ? l : fit(l, b.w), i === 0 ? firstCls : "detail"));

  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${FONT}">`);
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(
    "<style>" +
      ".bg{fill:#ffffff}.outside{fill:#fff4e0;stroke:#c05621}.host{fill:#f7f7f7;stroke:#8a8a8a;stroke-dasharray:6 3}" +
      ".bridge{fill:#e6f0fb;stroke:#2b6cb0}.bridge.isolated{stroke-dasharray:4 2;stroke-width:2}.netns{fill:#eaf7ec;stroke:#2f855a}" +
      ".veth{stroke:#4a5568;stroke-width:1.5;fill:none}.uplink{stroke:#c05621;stroke-width:2;fill:none}" +
      ".name{font-weight:bold}.detail{fill:#2d3748}.label{fill:#4a5568;font-size:11px}.end{paint-order:stroke;stroke:#ffffff;stroke-width:3px;stroke-linejoin:round}.port{fill:#9c4221;font-size:11px}.title{font-size:14px;font-weight:bold}" +
      "</style>",
  );
  out.push(`<rect class="bg" x="0" y="0" width="${width}" height="${height}"/>`);
  text(M, titleY, title, "title");

  // outside and the uplink, with the published ports beside it
  out.push(`<g class="outside-group">`);
  rect(outside, "outside");
  lines(outside, [outsideSpec.label, ...(outsideSpec.addresses.length ? [outsideSpec.addresses.join(" · ")] : [])], "name");
  out.push(`<path class="uplink" d="M${num(uplinkX)} ${num(outside.y + outside.h)} V${num(host.y)}"/>`);
  if (t.host.address) text(uplinkX + 8, host.y - 8, t.host.address, "label");
  portLines.forEach((l, i) => text(uplinkX + 12, outside.y + outside.h + 18 + i * LINE_H, l, "port"));
  out.push(`</g>`);

  // the host and its bridges
  out.push(`<g class="host-group">`);
  rect(host, "host");
  hostHeader.forEach((l, i) => text(host.x + PAD, host.y + PAD + FONT + i * LINE_H, l, i === 0 ? "name" : "detail"));
  t.bridges.forEach((b, i) => {
    out.push(`<g class="bridge-group">`);
    rect(brBoxes[i], b.isolated ? "bridge isolated" : "bridge");
    lines(brBoxes[i], brText[i], "name");
    out.push(`</g>`);
  });
  out.push(`</g>`);

  // veths: from the bridge (or the host box) down to the namespace, ends labelled. On a bridge,
  // lines leave in the order of the namespaces they reach; in a namespace, they arrive in the
  // order of the bridges they come from: so lines of one bridge or one namespace never cross.
  const nsPos = (ns: string) => nsOrder.findIndex((n) => n.name === ns);
  const brX = (v: TopologyVeth) => {
    const bi = v.host.bridge !== undefined ? t.bridges.findIndex((b) => b.name === v.host.bridge) : -1;
    return bi >= 0 ? center(brBoxes[bi]) : Infinity;
  };
  const leaving = new Map<string, TopologyVeth[]>();
  for (const v of t.veths) leaving.set(v.host.bridge ?? "", [...(leaving.get(v.host.bridge ?? "") ?? []), v]);
  for (const list of leaving.values()) list.sort((a, b) => nsPos(a.peer.netns) - nsPos(b.peer.netns) || compareText(a.peer.ifname, b.peer.ifname));
  const arriving = (ns: string) => vethsOf(ns).sort((a, b) => (brX(a) === brX(b) ? 0 : brX(a) < brX(b) ? -1 : 1) || compareText(a.host.ifname, b.host.ifname));
  for (const v of t.veths) {
    const ni = nsPos(v.peer.netns);
    if (ni < 0) continue;
    const nb = nsBoxes[ni];
    const bi = v.host.bridge !== undefined ? t.bridges.findIndex((b) => b.name === v.host.bridge) : -1;
    const siblings = leaving.get(v.host.bridge ?? "")!;
    const k = siblings.indexOf(v);
    let top: { x: number; y: number };
    if (bi >= 0) {
      const bb = brBoxes[bi];
      top = { x: bb.x + (bb.w * (k + 1)) / (siblings.length + 1), y: bb.y + bb.h };
    } else {
      top = { x: center(nb), y: host.y + host.h };
    }
    const peers = arriving(v.peer.netns);
    const bottom = { x: nb.x + (nb.w * (peers.indexOf(v) + 1)) / (peers.length + 1), y: nb.y };
    out.push(`<g class="veth-group">`);
    out.push(`<path class="veth" d="M${num(top.x)} ${num(top.y)} L${num(bottom.x)} ${num(bottom.y)}"/>`);
    // The host end's name inside the bridge box (or beside the line when there is no bridge), the
    // peer's above the namespace box: centred on the line, with a white halo to stay readable.
    const label = (lx: number, ly: number, s: string, cls: string) => out.push(`<text x="${num(lx)}" y="${num(ly)}" class="${cls}" text-anchor="middle">${escapeXml(s)}</text>`);
    label(top.x, bi >= 0 ? top.y - 6 : top.y + 14, v.host.ifname, bi >= 0 ? "label" : "label end");
    label(bottom.x, bottom.y - 6, v.peer.ifname, "label end");
    out.push(`</g>`);
  }

  // namespaces
  nsOrder.forEach((n, i) => {
    out.push(`<g class="netns-group">`);
    rect(nsBoxes[i], "netns");
    lines(nsBoxes[i], nsText[i], "name");
    out.push(`</g>`);
  });

  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
