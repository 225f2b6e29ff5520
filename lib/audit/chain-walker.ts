import { chainHash, rowChainHash, type ChainedFields } from "./canonical";

/**
 * The one check both verifiers run (the live walk of the table and the
 * offline check of an export): each event in seq order must follow the one
 * before it (its prevHash is that event's hash) and must match its own hash.
 * An edited event fails the second test at itself; a deleted, inserted or
 * reordered event fails the first at the event after the change.
 */
export type ChainProblem = {
  seq: string;
  problem: "hash_mismatch" | "broken_link" | "out_of_order";
  message: string;
};

export type ChainLink = { seq: string; prevHash: string; hash: string };

const short = (hash: string) => `${hash.slice(0, 12)}…`;

export class ChainWalker {
  private previousHash: string;
  private previousSeq: bigint | null;
  private readonly hashOf: (prevHash: string, fields: ChainedFields) => string;
  checked = 0;

  /**
   * `prevHash` is what the first event must follow: the genesis hash, a checkpoint's, or an export's start anchor.
   * `rows`: the events come from the table, so their shape needs no check (rowChainHash).
   */
  constructor(start: { prevHash: string; afterSeq?: bigint | null; rows?: boolean }) {
    this.previousHash = start.prevHash;
    this.previousSeq = start.afterSeq ?? null;
    this.hashOf = start.rows ? rowChainHash : chainHash;
  }

  get headHash(): string {
    return this.previousHash;
  }

  get headSeq(): string | null {
    return this.previousSeq === null ? null : this.previousSeq.toString();
  }

  /** A link with no content (an export's placeholder for an event its filter left out): only its place in the chain is checked. */
  link(link: ChainLink): ChainProblem | null {
    const seq = BigInt(link.seq);
    return this.follows(link, seq) ?? this.advance(link.hash, seq);
  }

  /** A whole event: its place in the chain, then its content against its hash. */
  event(fields: ChainedFields, prevHash: string, hash: string): ChainProblem | null {
    const seq = BigInt(fields.seq);
    const problem = this.follows({ seq: fields.seq, prevHash, hash }, seq);
    if (problem) return problem;
    if (this.hashOf(prevHash, fields) !== hash) {
      return { seq: fields.seq, problem: "hash_mismatch", message: `event ${fields.seq} was altered after it was written: its content no longer matches its hash` };
    }
    return this.advance(hash, seq);
  }

  /**
   * A stretch of the chain another walker checked (a seq range of the live
   * walk): its first event must follow this walker's head; then its checked
   * events count, and the head moves to its last event (`last` null: the
   * stretch ended in a failure of its own, and nothing after it matters).
   */
  stretch(stretch: { first: ChainLink; last: { seq: string; hash: string } | null; checked: number }): ChainProblem | null {
    const problem = this.follows(stretch.first, BigInt(stretch.first.seq));
    if (problem) return problem;
    this.checked += stretch.checked;
    if (stretch.last) {
      this.previousHash = stretch.last.hash;
      this.previousSeq = BigInt(stretch.last.seq);
    }
    return null;
  }

  private follows(link: ChainLink, seq: bigint): ChainProblem | null {
    if (this.previousSeq !== null && seq <= this.previousSeq) {
      return { seq: link.seq, problem: "out_of_order", message: `event ${link.seq} comes after event ${this.previousSeq}: events are out of order` };
    }
    if (link.prevHash === this.previousHash) return null;
    const after = this.previousSeq === null ? "the start of the chain" : `event ${this.previousSeq}`;
    return {
      seq: link.seq,
      problem: "broken_link",
      message: `event ${link.seq} does not follow ${after} (its prevHash is ${short(link.prevHash)}, ${after} hashes to ${short(this.previousHash)}): an event was deleted, inserted or reordered here`,
    };
  }

  private advance(hash: string, seq: bigint): null {
    this.previousHash = hash;
    this.previousSeq = seq;
    this.checked += 1;
    return null;
  }
}

/** A row as stored (details as JSON text) or as exported (details parsed), in its chained form. */
export function chainedFieldsOfRow(row: ChainedFields): ChainedFields {
  return {
    seq: row.seq,
    at: row.at,
    actorKind: row.actorKind,
    actorId: row.actorId,
    actorLabel: row.actorLabel,
    action: row.action,
    targetKind: row.targetKind,
    targetId: row.targetId,
    targetLabel: row.targetLabel,
    outcome: row.outcome,
    sourceAddress: row.sourceAddress,
    requestId: row.requestId,
    details: typeof row.details === "string" ? JSON.parse(row.details) : row.details,
  };
}
