import { shQuote } from "./quote";
import { REQUIREMENTS, requirementsScript } from "./requirements";

/**
 * A script that prepares a fresh Debian/Ubuntu or Amazon Linux host for bridgelab: it installs
 * what bridgelab runs there (the packages of REQUIREMENTS, plus `extraTools` such as socat for
 * a lab's servers), then runs bridgelab's own requirements check (the one made before its first
 * change, kernel features included) and fails, naming each piece, when something is still
 * missing. Meant for @pulumi/command's `remote.Command` (run as root, `sudo sh FILE`):
 *
 *   [ "$(id -u)" = 0 ] || exit 1
 *   cloud-init status --wait                        # let first-boot package work finish
 *   command -v conntrack || pkgs="$pkgs conntrack"  # one test per tool, so an install is exact
 *   apt-get update && apt-get install -y --no-install-recommends $pkgs   # or dnf install -y
 *   sh CHECK | grep '^missing '                     # bridgelab's requirementsScript()
 *
 * Idempotent: a package is installed only when one of its tools is not on PATH, so a second
 * run installs nothing and only checks. Nothing else on the host changes (no sysctl, no
 * module load: bridgelab's resources set what they use). Only its text decides what it does:
 * use a digest of it as the Command's trigger, so a new version runs again.
 */
export interface ExtraTool {
  /** The command looked up on PATH. */
  tool: string;
  /** The package bringing it on Debian/Ubuntu and on Amazon Linux. */
  debian: string;
  amazonLinux: string;
}

/** socat: what helloServerCommand (the labs' web servers) runs. */
export const SOCAT: ExtraTool = { tool: "socat", debian: "socat", amazonLinux: "socat" };

const WORD = /^[a-z0-9][a-z0-9.+-]*$/;
const TOOL = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/** One `need DEBIAN_PKG AL_PKG TOOL…` line per requirement that packages bring; kernel features are checked only. */
function needLines(extra: ExtraTool[]): string[] {
  const lines: string[] = [];
  for (const r of REQUIREMENTS) {
    if (!r.tools?.length) continue;
    lines.push(`need ${r.debian} ${r.amazonLinux} ${r.tools.join(" ")}`);
  }
  for (const e of extra) {
    for (const [field, v, re] of [["tool", e.tool, TOOL], ["debian", e.debian, WORD], ["amazonLinux", e.amazonLinux, WORD]] as const) {
      if (!re.test(v)) throw new Error(`extraTools: ${field} ${JSON.stringify(v)} must match ${re}`);
    }
    lines.push(`need ${e.debian} ${e.amazonLinux} ${e.tool}`);
  }
  return lines;
}

export function hostPreparationScript(o: { extraTools?: ExtraTool[] } = {}): string {
  for (const r of REQUIREMENTS) {
    if (r.tools?.length && !(WORD.test(r.debian) && WORD.test(r.amazonLinux))) throw new Error(`requirement ${r.id}: its packages must be single words`);
  }
  const names = REQUIREMENTS.map((r, i) => `    ${i}) echo ${shQuote(r.name)} ;;`);
  return [
    "#!/bin/sh",
    "# bridgelab: prepare this host (Debian/Ubuntu or Amazon Linux) for bridgelab, then check it as",
    "# bridgelab does before its first change. Idempotent: installs only what is missing. Run as root.",
    "set -u",
    `[ "$(id -u)" = 0 ] || { echo "bridgelab-prepare: run as root (sudo sh $0)" >&2; exit 1; }`,
    "# On a first boot, cloud-init may still be installing or configuring: wait for it.",
    "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi",
    "if command -v apt-get >/dev/null 2>&1; then family=debian",
    "elif command -v dnf >/dev/null 2>&1; then family=amazonLinux",
    `else echo "bridgelab-prepare: neither apt-get nor dnf on this host: install by hand what \\\`bridgelab doctor\\\` lists" >&2; exit 1; fi`,
    "pkgs=",
    "# need DEBIAN_PACKAGE AMAZON_LINUX_PACKAGE TOOL…: the package goes on the list when a tool is missing.",
    `need() { n_deb=$1; n_al=$2; shift 2; for n_t in "$@"; do command -v "$n_t" >/dev/null 2>&1 && continue; if [ $family = debian ]; then n_p=$n_deb; else n_p=$n_al; fi; case " $pkgs " in *" $n_p "*) ;; *) pkgs="$pkgs $n_p" ;; esac; return 0; done; }`,
    ...needLines(o.extraTools ?? [SOCAT]),
    `if [ -z "$pkgs" ]; then echo "bridgelab-prepare: nothing to install"`,
    `else`,
    `  echo "bridgelab-prepare: installing$pkgs"`,
    "  if [ $family = debian ]; then",
    "    export DEBIAN_FRONTEND=noninteractive",
    "    # DPkg::Lock::Timeout: wait for an unattended-upgrades run instead of failing on its lock.",
    "    apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null || exit 1",
    "    apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends $pkgs >/dev/null || exit 1",
    "  else",
    "    dnf -q -y install $pkgs >/dev/null || exit 1",
    "  fi",
    "fi",
    "# bridgelab's requirements check (read-only), the same script as before its first change.",
    `check=$(mktemp) || exit 1`,
    `trap 'rm -f "$check"' EXIT`,
    "cat > \"$check\" <<'BRIDGELAB_CHECK'",
    requirementsScript().trimEnd(),
    "BRIDGELAB_CHECK",
    `report=$(sh "$check") || { echo "bridgelab-prepare: the requirements check failed to run" >&2; exit 1; }`,
    "req_name() {",
    '  case "$1" in',
    ...names,
    "    *) echo \"requirement $1\" ;;",
    "  esac",
    "}",
    // What the check saw: `os ID|ID_LIKE|PRETTY_NAME`, `kernel …`, `iptables …`.
    `printf '%s\\n' "$report" | sed -n -e 's/^os [^|]*|[^|]*|\\(.*\\)$/bridgelab-prepare: \\1/p' -e 's/^kernel \\(.*\\)$/bridgelab-prepare: kernel \\1/p' -e 's/^iptables \\(..*\\)$/bridgelab-prepare: \\1/p'`,
    `unknown=$(printf '%s\\n' "$report" | sed -n 's/^unknown \\([0-9][0-9]*\\) \\{0,1\\}\\(.*\\)$/\\1 \\2/p')`,
    `if [ -n "$unknown" ]; then printf '%s\\n' "$unknown" | while read -r i why; do echo "bridgelab-prepare: cannot tell: $(req_name "$i") ($why)"; done; fi`,
    `missing=$(printf '%s\\n' "$report" | sed -n 's/^missing \\([0-9][0-9]*\\) \\{0,1\\}\\(.*\\)$/\\1 \\2/p')`,
    `if [ -n "$missing" ]; then`,
    `  echo "bridgelab-prepare: this host still lacks what bridgelab runs:" >&2`,
    `  printf '%s\\n' "$missing" | while read -r i why; do echo "  - $(req_name "$i")\${why:+ — $why}" >&2; done`,
    "  exit 1",
    "fi",
    `echo "bridgelab-prepare: ok: every tool and kernel feature bridgelab uses is here"`,
  ].join("\n") + "\n";
}
