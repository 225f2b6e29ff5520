import { chainHash, type ChainedFields } from "./canonical";

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
  checked = 0;

  /** `prevHash` is what the first event must follow: the genesis hash, a checkpoint's, or an export's start anchor. */
  constructor(start: { prevHash: string; afterSeq?: bigint | null }) {
    this.previousHash = start.prevHash;
    this.previousSeq = start.afterSeq ?? null;
  }

  get headHash(): string {
    return this.previousHash;
  }

  get headSeq(): string | null {
    return this.previousSeq === null ? null : this.previousSeq.toString();
  }

  /** A link with no content (an export's placeholder for an event its filter left out): only its place in the chain is checked. */
  link(link: ChainLink): ChainProblem | null {
    return this.follows(link) ?? this.advance(link);
  }

  /** A whole event: its place in the chain, then its content against its hash. */
  event(fields: ChainedFields, prevHash: string, hash: string): ChainProblem | null {
    const link = { seq: fields.seq, prevHash, hash };
    const problem = this.follows(link);
    if (problem) return problem;
    if (chainHash(prevHash, fields) !== hash) {
      return { seq: fields.seq, problem: "hash_mismatch", message: `event ${fields.seq} was altered after it was written: its content no longer matches its hash` };
    }
    return this.advance(link);
  }

  private follows(link: ChainLink): ChainProblem | null {
    if (this.previousSeq !== null && BigInt(link.seq) <= this.previousSeq) {
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

  private advance(link: ChainLink): null {
    this.previousHash = link.hash;
    this.previousSeq = BigInt(link.seq);
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
