import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * SHA-256 on worker threads, so an upload's bytes are hashed on one core while
 * the main thread receives and writes the next ones (bench/upload: one
 * SHA-256 stream cannot be split, but it can run beside the receive path).
 *
 * Bytes reach a worker without a copy: they sit in a SharedArrayBuffer (the
 * receiver's ring of slots) and a message names the range. The worker answers
 * each range once it is hashed, and only then may the slot be filled again.
 * Messages to one worker are handled in the order they were sent, so a
 * stream's ranges are hashed in order.
 *
 * The worker is plain CommonJS evaluated from a string: it loads no loader
 * (no tsx, no bundling) and starts in a few milliseconds.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const streams = new Map();
parentPort.on("message", (m) => {
  try {
    if (m.op === "open") streams.set(m.id, { hash: createHash("sha256"), ring: null });
    else if (m.op === "ring") streams.get(m.id).ring = new Uint8Array(m.ring);
    else if (m.op === "update") {
      const s = streams.get(m.id);
      s.hash.update(s.ring.subarray(m.offset, m.offset + m.length));
      parentPort.postMessage({ id: m.id, seq: m.seq });
    } else if (m.op === "digest") {
      const s = streams.get(m.id);
      streams.delete(m.id);
      parentPort.postMessage({ id: m.id, seq: m.seq, hex: s.hash.digest("hex") });
    } else if (m.op === "drop") streams.delete(m.id);
  } catch (error) {
    parentPort.postMessage({ id: m.id, seq: m.seq, error: String(error && error.message || error) });
  }
});
`;

type Reply = { id: number; seq: number; hex?: string; error?: string };
type Waiter = { resolve: (hex: string | undefined) => void; reject: (error: Error) => void };

class HashWorker {
  readonly worker: Worker;
  readonly waiting = new Map<number, Map<number, Waiter>>();
  streams = 0;
  failed: Error | undefined;

  constructor(onExit: (worker: HashWorker) => void) {
    // execArgv: [] so the worker does not inherit `--import tsx` (seconds of CPU per start for nothing).
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const forStream = this.waiting.get(reply.id);
      const waiter = forStream?.get(reply.seq);
      if (!waiter) return;
      forStream!.delete(reply.seq);
      if (reply.error) waiter.reject(new Error(`SHA-256 worker: ${reply.error}`));
      else waiter.resolve(reply.hex);
    });
    const fail = (error: Error) => {
      this.failed = error;
      for (const forStream of this.waiting.values()) for (const waiter of forStream.values()) waiter.reject(error);
      this.waiting.clear();
      onExit(this);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`SHA-256 worker exited (${code})`)));
  }
}

const workers: HashWorker[] = [];
let nextStreamId = 1;

function pickWorker(): HashWorker {
  // One worker per core: more streams than cores share workers, fewest streams first.
  const limit = Math.max(1, availableParallelism());
  const idle = workers.reduce<HashWorker | undefined>((best, w) => (!best || w.streams < best.streams ? w : best), undefined);
  if (idle && (idle.streams === 0 || workers.length >= limit)) return idle;
  const created = new HashWorker((dead) => {
    const at = workers.indexOf(dead);
    if (at >= 0) workers.splice(at, 1);
  });
  workers.push(created);
  return created;
}

/** One running SHA-256 over bytes handed over in order from a SharedArrayBuffer. */
export class SharedHash {
  private readonly owner: HashWorker;
  private readonly id = nextStreamId++;
  private seq = 0;
  private ring: SharedArrayBuffer | undefined;
  private closed = false;

  constructor() {
    this.owner = pickWorker();
    this.owner.streams += 1;
    this.owner.waiting.set(this.id, new Map());
    this.owner.worker.postMessage({ op: "open", id: this.id });
  }

  private ask(message: Record<string, unknown>): Promise<string | undefined> {
    if (this.owner.failed) return Promise.reject(this.owner.failed);
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.owner.waiting.get(this.id)?.set(seq, { resolve, reject });
      this.owner.worker.postMessage({ ...message, id: this.id, seq });
    });
  }

  /** Hashes ring[offset, offset + length); resolves when the worker is done with those bytes. */
  async update(ring: SharedArrayBuffer, offset: number, length: number): Promise<void> {
    if (ring !== this.ring) {
      this.ring = ring;
      this.owner.worker.postMessage({ op: "ring", id: this.id, ring });
    }
    await this.ask({ op: "update", offset, length });
  }

  async digest(): Promise<string> {
    const hex = await this.ask({ op: "digest" });
    this.release();
    return hex!;
  }

  /** Forget the stream (an abandoned upload); safe to call more than once. Pending updates reject. */
  drop(): void {
    if (this.closed) return;
    this.owner.worker.postMessage({ op: "drop", id: this.id });
    const pending = this.owner.waiting.get(this.id);
    this.release();
    for (const waiter of pending?.values() ?? []) waiter.reject(new Error("SHA-256 stream dropped"));
  }

  private release() {
    if (this.closed) return;
    this.closed = true;
    this.owner.streams -= 1;
    this.owner.waiting.delete(this.id);
  }
}
