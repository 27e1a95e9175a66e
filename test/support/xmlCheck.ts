/**
 * A strict XML 1.0 well-formedness check for the documents bridgelab generates (SVG), with
 * the text of chosen elements collected. Covers what such documents use: an XML declaration,
 * elements with quoted attributes, character data, entity and character references, comments
 * and CDATA. Throws with the offset and the reason on the first error: an unclosed or
 * mismatched tag, an unquoted or repeated attribute, a raw '<' or '&', an unknown entity,
 * text outside the single root element.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  /** Text content, references decoded, of this element and its descendants. */
  text: string;
  children: XmlElement[];
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_.:-]*/;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  return raw.replace(/&([^;]*);|&|</g, (m, ref: string | undefined, off: number) => {
    if (m === "<") throw new Error(`offset ${at + off}: raw '<' in text or attribute`);
    if (ref === undefined) throw new Error(`offset ${at + off}: raw '&' (write &amp;)`);
    if (ref in ENTITIES) return ENTITIES[ref];
    const num = /^#x([0-9A-Fa-f]+)$/.exec(ref) ?? /^#([0-9]+)$/.exec(ref);
    if (num) {
      const code = parseInt(num[1], ref.startsWith("#x") ? 16 : 10);
      if (code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff)) {
        return String.fromCodePoint(code);
      }
    }
    throw new Error(`offset ${at + off}: unknown or invalid reference &${ref};`);
  });
}

/** Parse `xml`; returns the root element. */
export function parseXml(xml: string): XmlElement {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(xml);
  if (bad) throw new Error(`offset ${bad.index}: character U+${bad[0].charCodeAt(0).toString(16).padStart(4, "0")} is not allowed in XML`);
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0) throw new Error("unterminated XML declaration");
    i = end + 2;
  }
  const addText = (s: string) => {
    for (const e of stack) e.text += s;
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const chunk = xml.slice(i, lt < 0 ? xml.length : lt);
    if (chunk.length) {
      if (stack.length === 0) {
        if (chunk.trim() !== "") throw new Error(`offset ${i}: text outside the root element`);
      } else {
        addText(decode(chunk, i));
      }
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i + 4);
      if (end < 0) throw new Error(`offset ${i}: unterminated comment`);
      if (xml.slice(i + 4, end).includes("--")) throw new Error(`offset ${i}: '--' inside a comment`);
      i = end + 3;
      continue;
    }
    if (xml.startsWith("<![CDATA[", i)) {
      const end = xml.indexOf("]]>", i);
      if (end < 0 || stack.length === 0) throw new Error(`offset ${i}: bad CDATA section`);
      addText(xml.slice(i + 9, end));
      i = end + 3;
      continue;
    }
    if (xml.startsWith("</", i)) {
      const m = NAME.exec(xml.slice(i + 2));
      const close = xml.indexOf(">", i);
      if (!m || close < 0 || xml.slice(i + 2 + m[0].length, close).trim() !== "") throw new Error(`offset ${i}: malformed end tag`);
      const open = stack.pop();
      if (!open || open.name !== m[0]) throw new Error(`offset ${i}: </${m[0]}> does not close ${open ? `<${open.name}>` : "anything"}`);
      i = close + 1;
      continue;
    }
    // A start tag.
    const m = NAME.exec(xml.slice(i + 1));
    if (!m) throw new Error(`offset ${i}: '<' not followed by a name`);
    const el: XmlElement = { name: m[0], attrs: {}, text: "", children: [] };
    let j = i + 1 + m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(j))![0];
      j += ws.length;
      if (xml.startsWith("/>", j) || xml[j] === ">") break;
      if (!ws) throw new Error(`offset ${j}: attributes must be separated by whitespace`);
      const a = /^([A-Za-z_:][A-Za-z0-9_.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(j));
      if (!a) throw new Error(`offset ${j}: malformed or unquoted attribute in <${el.name}>`);
      if (a[1] in el.attrs) throw new Error(`offset ${j}: attribute ${a[1]} repeated in <${el.name}>`);
      el.attrs[a[1]] = decode(a[3] ?? a[4], j);
      j += a[0].length;
    }
    if (stack.length) stack[stack.length - 1].children.push(el);
    else if (root) throw new Error(`offset ${i}: a second root element <${el.name}>`);
    else root = el;
    if (xml.startsWith("/>", j)) {
      i = j + 2;
    } else {
      stack.push(el);
      i = j + 1;
    }
  }
  if (stack.length) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element named `name`, in document order. */
export function elementsNamed(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}
