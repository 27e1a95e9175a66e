import { execFileSync } from "node:child_process";
import { shJoin, shQuote } from "../../provider/host/quote";

describe("shQuote", () => {
  it("leaves safe words bare", () => {
    expect(shJoin(["ip", "link", "add", "br0", "mtu", "1500"])).toBe("ip link add br0 mtu 1500");
    expect(shQuote("172.18.0.1/16")).toBe("172.18.0.1/16");
  });
  it("quotes the empty string and metacharacters", () => {
    expect(shQuote("")).toBe("''");
    expect(shQuote("a b")).toBe("'a b'");
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
  });
  it("refuses NUL", () => {
    expect(() => shQuote("a\0b")).toThrow(/NUL/);
  });
  // The real proof: a shell gets every hostile string back byte for byte.
  it.each([
    "$(touch /tmp/pwned)",
    "`id`",
    "a'b\"c",
    "; rm -rf / #",
    "line1\nline2",
    "*?[]{}~!&|<>\\",
    "'''",
    "-n",
    "ünïcødé ✓",
  ])("round-trips %j through sh", (word) => {
    const out = execFileSync("sh", ["-c", `printf '%s' ${shQuote(word)}`], { encoding: "utf8" });
    expect(out).toBe(word);
  });
});
