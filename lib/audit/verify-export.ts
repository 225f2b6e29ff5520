import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { ChainWalker, chainedFieldsOfRow } from "./chain-walker";
import { AUDIT_EXPORT_KIND, AUDIT_EXPORT_VERSION } from "./canonical";

/**
 * Checks a JSON Lines audit export with nothing but the file (no database,
 * no network): the header's start anchor, every event's hash, every link
 * between consecutive lines, and the end record (its absence means the file
 * was truncated). Streams the file, so its size does not matter. Errors
 * name the line.
 */
export type ExportVerification =
  | {
      ok: true;
      events: number;
      links: number;
      firstSeq: string | null;
      lastSeq: string | null;
      startAnchor: string | null;
      endAnchor: string | null;
      exportedAt: string;
      chainHead: { seq: string; hash: string } | null;
    }
  | { ok: false; line: number; seq?: string; message: string };

const HASH = /^[0-9a-f]{64}$/;
const SEQ = /^\d{1,19}$/;
const EVENT_STRING_FIELDS = ["seq", "at", "actorKind", "actorLabel", "action", "outcome", "prevHash", "hash"] as const;
const EVENT_NULLABLE_FIELDS = ["actorId", "targetKind", "targetId", "targetLabel", "sourceAddress", "requestId"] as const;

type Record_ = Record<string, unknown>;

function eventShapeProblem(record: Record_): string | null {
  for (const key of EVENT_STRING_FIELDS) if (typeof record[key] !== "string") return `${key} must be a string`;
  for (const key of EVENT_NULLABLE_FIELDS) if (record[key] !== null && typeof record[key] !== "string") return `${key} must be a string or null`;
  if (!("details" in record)) return "details is missing";
  if (!SEQ.test(record.seq as string)) return "seq must be a decimal integer";
  if (!HASH.test(record.prevHash as string) || !HASH.test(record.hash as string)) return "prevHash and hash must be 64 lowercase hex digits";
  return null;
}

export async function verifyAuditExport(input: Readable): Promise<ExportVerification> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let walker: ChainWalker | null = null;
  let header: Record_ | null = null;
  let end: Record_ | null = null;
  let events = 0;
  let links = 0;
  let firstSeq: string | null = null;
  const fail = (message: string, seq?: string): ExportVerification => {
    lines.close();
    return { ok: false, line: lineNumber, ...(seq ? { seq } : {}), message };
  };

  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === "") return fail(`line ${lineNumber} is empty: a JSON Lines export has one record per line`);
    if (end) return fail(`line ${lineNumber} follows the end record: the file was appended to after the export`);
    let record: Record_;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      record = parsed as Record_;
    } catch {
      return fail(`line ${lineNumber} is not a JSON object${lineNumber === 1 ? ": is this a JSON Lines audit export (CSV exports cannot be verified as a chain)?" : " (the file is damaged or was cut mid-line)"}`);
    }

    if (!header) {
      if (record.type !== "header" || record.format !== AUDIT_EXPORT_KIND) return fail(`line 1 is not a Berth audit export header (expected "type":"header","format":"${AUDIT_EXPORT_KIND}")`);
      if (record.version !== AUDIT_EXPORT_VERSION) return fail(`line 1: export format version ${String(record.version)} is not one this verifier knows (${AUDIT_EXPORT_VERSION})`);
      const anchor = (record.startAnchor as Record_ | undefined)?.prevHash;
      if (anchor !== null && (typeof anchor !== "string" || !HASH.test(anchor))) return fail("line 1: startAnchor.prevHash must be 64 hex digits or null");
      header = record;
      walker = anchor ? new ChainWalker({ prevHash: anchor }) : null;
      continue;
    }

    if (record.type === "end") {
      end = record;
      continue;
    }
    if (record.type !== "event" && record.type !== "link") return fail(`line ${lineNumber}: unknown record type ${JSON.stringify(record.type)} (expected event, link or end)`);
    if (!walker) return fail(`line ${lineNumber}: the header says the export is empty (startAnchor.prevHash is null) but it has records`);
    const seq = typeof record.seq === "string" ? record.seq : undefined;
    if (record.type === "link") {
      if (!seq || !SEQ.test(seq) || typeof record.prevHash !== "string" || !HASH.test(record.prevHash) || typeof record.hash !== "string" || !HASH.test(record.hash)) {
        return fail(`line ${lineNumber}: a link record needs seq, prevHash and hash`, seq);
      }
      const problem = walker.link({ seq, prevHash: record.prevHash, hash: record.hash });
      if (problem) return fail(`line ${lineNumber}: ${problem.message}`, seq);
      links += 1;
    } else {
      const shape = eventShapeProblem(record);
      if (shape) return fail(`line ${lineNumber}: malformed event: ${shape}`, seq);
      const fields = chainedFieldsOfRow(record as Parameters<typeof chainedFieldsOfRow>[0]);
      const problem = walker.event(fields, record.prevHash as string, record.hash as string);
      if (problem) return fail(`line ${lineNumber}: ${problem.message}`, seq);
      events += 1;
    }
    firstSeq ??= seq ?? null;
  }

  if (!header) return fail("the file is empty: not an audit export");
  if (!end) return fail(`the file ends at line ${lineNumber} without its end record: it was truncated`);
  if (end.events !== events || end.links !== links) {
    return fail(`the end record counts ${String(end.events)} events and ${String(end.links)} links, the file has ${events} and ${links}: records were removed or added`);
  }
  const lastHash = walker?.headHash ?? null;
  if ((end.lastHash ?? null) !== (walker ? lastHash : null) || (end.lastSeq ?? null) !== (walker?.headSeq ?? null)) {
    return fail(`the end record's anchor (event ${String(end.lastSeq)}) is not the file's last event: records were removed from the end`);
  }
  return {
    ok: true,
    events,
    links,
    firstSeq,
    lastSeq: walker?.headSeq ?? null,
    startAnchor: ((header.startAnchor as Record_ | undefined)?.prevHash as string | null) ?? null,
    endAnchor: walker ? lastHash : null,
    exportedAt: String(header.exportedAt),
    chainHead: (header.chainHead as { seq: string; hash: string } | null) ?? null,
  };
}
