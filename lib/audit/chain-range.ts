import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { ChainWalker, type ChainLink, type ChainProblem } from "./chain-walker";
import type { ChainedFields } from "./canonical";
import { AUDIT_COLUMNS } from "./filters";

/**
 * One seq range of the live walk: every event's own hash and the links
 * between the range's events. The link from the range's first event to the
 * event before it, and the joins between ranges, are checked by whoever
 * joins the ranges (verify-chain.ts), so a range can be read and hashed
 * anywhere: a worker thread, or the calling thread for a small chain.
 */
export type SeqRange = { after: string; through: string };

export type RangeCheck = {
  range: SeqRange;
  first: ChainLink | null;
  last: { seq: string; hash: string } | null;
  /** Events that passed before `problem` (all of them when there is none). */
  checked: number;
  /** The range's first failure; its first event's link to the event before the range is not judged here. */
  problem: ChainProblem | null;
  /** The range holds the audit.purge event that vouches for this checkpoint. */
  corroborates: boolean;
};

export type CheckpointAnchor = { throughSeq: string; continuesFromHash: string };

export const PURGE_ACTION = "audit.purge";

/** COPY text format escapes (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"); COPY TO writes no octal or hex ones. */
const COPY_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
const COPY_ESCAPE = /\\(.)/g;
const unescapeCopy = (field: string) => (field.indexOf("\\") === -1 ? field : field.replace(COPY_ESCAPE, (_m, c: string) => COPY_ESCAPES[c] ?? c));
const nullable = (field: string) => (field === "\\N" ? null : unescapeCopy(field));
// jsonb's text form escapes every control character inside its strings and has none outside them,
// so the only COPY escape in it is the doubled backslash (a plain replace is 3-4 times cheaper than the regex).
const unescapeJsonb = (field: string) => (field.indexOf("\\") === -1 ? field : field.replaceAll("\\\\", "\\"));

const NEWLINE = 10;

/**
 * Reads the range with `COPY (SELECT …) TO STDOUT` (text format) on `client`
 * and checks it event by event. COPY hands over whole socket reads of rows
 * with no per-row objects from the driver: each chunk is decoded once and each
 * line cut at its tabs. Memory holds one chunk and one partial line.
 */
export async function checkChainRange(client: pg.ClientBase, range: SeqRange, checkpoint: CheckpointAnchor | null): Promise<RangeCheck> {
  // Both bounds go into the statement text (COPY takes no parameters): BigInt() refuses anything that is not an integer.
  const after = BigInt(range.after);
  const through = BigInt(range.through);
  const stream = client.query(
    copyTo(`COPY (SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > ${after} AND seq <= ${through} ORDER BY audit_events.seq) TO STDOUT`),
  );
  const result: RangeCheck = { range, first: null, last: null, checked: 0, problem: null, corroborates: false };
  let walker: ChainWalker | null = null;
  let lastHash = "";
  let lastSeq = "";
  let rest: Buffer | null = null;

  const line = (text: string, start: number, end: number): ChainProblem | null => {
    const cut: string[] = [];
    let from = start;
    for (let tab = text.indexOf("\t", from); tab !== -1 && tab < end; tab = text.indexOf("\t", from)) {
      cut.push(text.slice(from, tab));
      from = tab + 1;
    }
    cut.push(text.slice(from, end));
    if (cut.length !== 15) throw new Error(`COPY gave a row of ${cut.length} fields, expected 15`);
    const fields: ChainedFields = {
      seq: cut[0]!,
      at: cut[1]!,
      actorKind: cut[2]!,
      actorId: nullable(cut[3]!),
      actorLabel: unescapeCopy(cut[4]!),
      action: unescapeCopy(cut[5]!),
      targetKind: nullable(cut[6]!),
      targetId: nullable(cut[7]!),
      targetLabel: nullable(cut[8]!),
      outcome: cut[9]!,
      sourceAddress: nullable(cut[10]!),
      requestId: nullable(cut[11]!),
      details: JSON.parse(unescapeJsonb(cut[12]!)),
    };
    const prevHash = cut[13]!;
    const hash = cut[14]!;
    if (!walker) {
      walker = new ChainWalker({ prevHash, afterSeq: after, rows: true });
      result.first = { seq: fields.seq, prevHash, hash };
    }
    const problem = walker.event(fields, prevHash, hash);
    if (problem) return problem;
    lastHash = hash;
    lastSeq = fields.seq;
    if (checkpoint && !result.corroborates && fields.action === PURGE_ACTION) result.corroborates = corroborates(fields.details, checkpoint);
    return null;
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    // After the range's first failure the rest is read and dropped: leaving a COPY
    // early (breaking out of this loop destroys the stream) would leave the connection mid-protocol.
    if (result.problem) continue;
    const bytes: Buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
    // A newline byte never occurs inside a multi-byte UTF-8 character, so cutting there never splits one.
    const end = bytes.lastIndexOf(NEWLINE);
    if (end === -1) {
      rest = bytes;
      continue;
    }
    rest = end + 1 < bytes.length ? bytes.subarray(end + 1) : null;
    const text = bytes.toString("utf8", 0, end + 1);
    for (let start = 0; start < text.length; ) {
      const stop = text.indexOf("\n", start);
      const problem = line(text, start, stop);
      if (problem) {
        result.problem = problem;
        break;
      }
      start = stop + 1;
    }
  }
  if (rest && !result.problem) throw new Error("COPY ended in the middle of a row");
  const done = walker as ChainWalker | null;
  result.checked = done?.checked ?? 0;
  if (done && !result.problem) result.last = { seq: lastSeq, hash: lastHash };
  return result;
}

/** A purge event vouches for the checkpoint it wrote: the same seq and hash. */
export function corroborates(details: unknown, checkpoint: CheckpointAnchor): boolean {
  if (typeof details !== "object" || details === null) return false;
  const d = details as Record<string, unknown>;
  return d.throughSeq === checkpoint.throughSeq && d.continuesFromHash === checkpoint.continuesFromHash;
}
