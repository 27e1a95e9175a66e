/**
 * The stack's state: a JSON file rewritten atomically (temp file + rename) right after completed
 * resource operations (those completing in the same event-loop turn share one write), so that a
 * crash mid-run leaves what was done recorded and the next run can converge. In memory, secrets are plaintext (in their wire form); on disk they are encrypted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Json, PropertyMap } from "./sdk";
import { topoOrder } from "./graph";
import { StateCrypter } from "./secrets";
import type { StateFile, StateResource } from "./types";

export class StateStore {
  /** Live resources by URN, in first-seen order. */
  private readonly live = new Map<string, StateResource>();
  /** Old halves of create-before-delete replacements (and their like) waiting for deletion. */
  private condemned: StateResource[] = [];
  private stackOutputs: PropertyMap = {};

  private constructor(
    readonly file: string,
    readonly stack: string,
    readonly project: string,
    private readonly crypter: StateCrypter,
    /** Preview must never touch the state file (nor create a key file). */
    private readonly readOnly: boolean,
  ) {}

  static load(file: string, stack: string, project: string, passphrase: string | undefined, readOnly: boolean): StateStore {
    let parsed: StateFile | undefined;
    if (fs.existsSync(file)) {
      try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8")) as StateFile;
      } catch (e) {
        throw new Error(`state file ${file} is not valid JSON: ${(e as Error).message}`);
      }
      if (parsed.version !== 1) throw new Error(`state file ${file} has version ${String(parsed.version)}, expected 1`);
      if (parsed.stack !== stack || parsed.project !== project) {
        throw new Error(
          `state file ${file} belongs to stack ${parsed.stack} of project ${parsed.project}, not ${stack} of ${project}`,
        );
      }
    }
    const store = new StateStore(file, stack, project, new StateCrypter(file, parsed?.secrets, passphrase), readOnly);
    for (const r of parsed?.resources ?? []) {
      const res: StateResource = {
        ...r,
        inputs: store.crypter.decryptTree(r.inputs ?? {}) as PropertyMap,
        outputs: store.crypter.decryptTree(r.outputs ?? {}) as PropertyMap,
      };
      if (res.delete) store.condemned.push(res);
      else store.live.set(res.urn, res);
    }
    store.stackOutputs = store.crypter.decryptTree(parsed?.outputs ?? {}) as PropertyMap;
    return store;
  }

  get(urn: string): StateResource | undefined {
    return this.live.get(urn);
  }

  liveResources(): StateResource[] {
    return [...this.live.values()];
  }

  pendingDeletes(): StateResource[] {
    return [...this.condemned];
  }

  get outputs(): PropertyMap {
    return this.stackOutputs;
  }

  put(r: StateResource): void {
    this.live.set(r.urn, r);
  }

  remove(urn: string): void {
    this.live.delete(urn);
  }

  /** Moves a live resource to the pending-delete list (its URN now belongs to a replacement). */
  condemn(r: StateResource): StateResource {
    const condemned: StateResource = { ...r, delete: true };
    this.condemned.push(condemned);
    return condemned;
  }

  /** Forgets a resource after its deletion, whether it was live or pending. */
  forget(r: StateResource): void {
    if (r.delete) this.condemned = this.condemned.filter((c) => c !== r);
    else if (this.live.get(r.urn) === r) this.live.delete(r.urn);
  }

  setOutputs(outputs: PropertyMap): void {
    this.stackOutputs = outputs;
  }

  /**
   * Records that the state changed; the write follows on the next turn of the event loop, so
   * steps that complete together (a lab's hundreds of parallel creates) share one write
   * instead of rewriting the whole file once each (O(resources²) bytes at 250 containers).
   * flush() writes at once; the engine flushes before it returns, success or not.
   */
  save(): void {
    if (this.readOnly || this.pending) return;
    this.pending = setImmediate(() => this.flush());
  }

  /** Writes the whole state atomically now, if anything changed. Synchronous: writes never interleave. */
  flush(): void {
    if (!this.pending) return;
    clearImmediate(this.pending);
    this.pending = undefined;
    this.write();
  }

  private pending: NodeJS.Immediate | undefined;

  private write(): void {
    if (this.readOnly) return;
    const resources = topoOrder([...this.live.values(), ...this.condemned]).map((r) => ({
      ...r,
      inputs: this.crypter.encryptTree(r.inputs) as PropertyMap,
      outputs: this.crypter.encryptTree(r.outputs) as PropertyMap,
    }));
    const outputs = this.crypter.encryptTree(this.stackOutputs as Json) as PropertyMap;
    const file: StateFile = { version: 1, stack: this.stack, project: this.project, resources, outputs };
    if (this.crypter.config) file.secrets = this.crypter.config;
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
