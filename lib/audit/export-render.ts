/**
 * Export lines rendered straight from PostgreSQL's binary COPY output, as bytes.
 *
 * The export reads its rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: each
 * row is a field count and, per field, a length and the value's bytes (text columns
 * as their UTF-8 text, no escaping). This file turns those bytes into the export's
 * lines without making a JavaScript string or object per row: the `pg` driver's
 * row decoding alone cost 6–7 µs a row, and strings built per row were most of
 * the rest of the export's 15 µs (bench/README.md, bench/audit). Here a row costs
 * a scan of its bytes and a few copies.
 *
 * The output is byte for byte what the string renderers give (`jsonEventLine`,
 * `jsonLinkLine`, and `csvRecord` from lib/http/csv.ts); export-render.test.ts
 * checks that on hostile input, so the documented format (docs/audit-verification.md)
 * does not drift:
 * - JSON strings escaped as JSON.stringify does: `"` and `\` with a backslash,
 *   \b \f \n \r \t by name, other bytes below 0x20 as \u00xx (lowercase hex), every
 *   other byte (UTF-8 included) as it is; `details` spliced in as the database's
 *   JSON text;
 * - CSV fields as csvField: a leading = + - @ tab or CR prefixed with ', quoted
 *   (with "" for ") when they hold " , CR or LF, null and empty both empty;
 *   records end with CRLF.
 */

/** The columns of a COPY row, in order. `selected` is a boolean, the rest text (null where the column is). */
export const COPY_FIELDS = [
  "selected", "seq", "at", "actorKind", "actorId", "actorLabel", "action", "targetKind", "targetId", "targetLabel",
  "outcome", "sourceAddress", "requestId", "details", "prevHash", "hash",
] as const;

/** The event fields after `selected`, each written as "key":"value" (details as raw JSON). */
type EventKey = Exclude<(typeof COPY_FIELDS)[number], "selected">;
const EVENT_KEYS = COPY_FIELDS.slice(1) as EventKey[];
const FIELD_COUNT = COPY_FIELDS.length;
const SEQ = 1;
const DETAILS = 13;
const PREV_HASH = 14;
const HASH = 15;
const LINK_FIELDS = [SEQ, PREV_HASH, HASH] as const;
// Columns whose text never needs escaping or quoting in either format: seq (digits), at (to_char's
// fixed format), actorKind and outcome (enum labels), prevHash and hash (hex). 1 = plain.
const PLAIN = new Uint8Array(COPY_FIELDS.length);
for (const key of ["seq", "at", "actorKind", "outcome", "prevHash", "hash"] as const) PLAIN[COPY_FIELDS.indexOf(key)] = 1;

// PostgreSQL's binary COPY header: signature, flags (int32), header extension length (int32).
const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const HEADER_LENGTH = SIGNATURE.length + 8;

const ascii = (text: string) => Buffer.from(text, "latin1");
const EVENT_PREFIX = ascii('{"type":"event"');
const LINK_PREFIX = ascii('{"type":"link"');
/** `,"key":` for every event field, by column index. */
const KEY_PREFIX = COPY_FIELDS.map((key) => ascii(`,"${key}":`));
const NULL = ascii("null");
const HEX = ascii("0123456789abcdef");

// Bytes JSON.stringify escapes: 1 = by name or as \u00xx, 0 = as they are.
const JSON_ESCAPE = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) JSON_ESCAPE[b] = 1;
JSON_ESCAPE[0x22] = 1;
JSON_ESCAPE[0x5c] = 1;
// The letter after the backslash for bytes JSON.stringify escapes by name (0: as \u00xx).
const JSON_NAMED = new Uint8Array(256);
for (const [b, letter] of [[0x08, "b"], [0x0c, "f"], [0x0a, "n"], [0x0d, "r"], [0x09, "t"], [0x22, '"'], [0x5c, "\\"]] as const) JSON_NAMED[b] = letter.charCodeAt(0);

// CSV: bytes that make a field quoted, and leading bytes a spreadsheet reads as a formula (lib/http/csv.ts).
const CSV_QUOTE = new Uint8Array(256);
for (const c of [0x22, 0x2c, 0x0d, 0x0a]) CSV_QUOTE[c] = 1;
const CSV_FORMULA = new Uint8Array(256);
for (const c of [0x3d, 0x2b, 0x2d, 0x40, 0x09, 0x0d]) CSV_FORMULA[c] = 1;

export type RenderFormat = "csv" | "jsonl";

/**
 * Feeds on binary COPY output, chunk by chunk (a row may span chunks), and returns
 * each chunk's rendered lines. JSON Lines: an event line for a selected row, a link
 * line for any other. CSV: every row as a record (the query selects only the rows
 * the filter keeps). Counts what it wrote and keeps the last row's seq and hash
 * for the end record.
 */
export class CopyRowRenderer {
  events = 0;
  links = 0;
  lastSeq: string | null = null;
  lastHash: string | null = null;
  private headerSeen = false;
  private ended = false;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private out: Buffer = Buffer.alloc(0);
  private o = 0;
  // Field offsets of the row being rendered: start and end per column, start -1 for null.
  private readonly starts = new Int32Array(FIELD_COUNT);
  private readonly ends = new Int32Array(FIELD_COUNT);

  constructor(private readonly format: RenderFormat) {}

  /** The rendered bytes for this chunk's complete rows (empty when none completed in it). */
  push(chunk: Buffer): Buffer {
    if (this.ended) {
      if (chunk.length) throw new Error("COPY sent data after its trailer");
      return Buffer.alloc(0);
    }
    let buf = chunk;
    if (this.pendingLength) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      // A row longer than a chunk: wait until all of it is here before joining (joining at every chunk is quadratic).
      if (this.pendingLength < this.needed()) return Buffer.alloc(0);
      buf = Buffer.concat(this.pending, this.pendingLength);
      this.pending = [];
      this.pendingLength = 0;
    }
    let pos = 0;
    if (!this.headerSeen) {
      if (buf.length < HEADER_LENGTH) return this.keep(buf, 0);
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error("not PostgreSQL binary COPY output");
      const extension = buf.readUInt32BE(SIGNATURE.length + 4);
      if (buf.length < HEADER_LENGTH + extension) return this.keep(buf, 0);
      pos = HEADER_LENGTH + extension;
      this.headerSeen = true;
    }
    // A fresh buffer per chunk, handed out as it is: the route writes it to the socket.
    this.out = Buffer.allocUnsafe(buf.length * 2 + 4096);
    this.o = 0;
    let seqStart = -1;
    let seqEnd = -1;
    let hashStart = -1;
    let hashEnd = -1;
    const { starts, ends } = this;
    for (;;) {
      if (pos + 2 > buf.length) break;
      const fields = buf.readInt16BE(pos);
      if (fields === -1) {
        this.ended = true;
        pos += 2;
        if (pos !== buf.length) throw new Error("COPY sent data after its trailer");
        break;
      }
      if (fields !== FIELD_COUNT) throw new Error(`COPY row has ${fields} fields, expected ${FIELD_COUNT}`);
      // Locate every field; stop if the row is not all here yet.
      let p = pos + 2;
      let complete = true;
      for (let f = 0; f < FIELD_COUNT; f++) {
        if (p + 4 > buf.length) {
          complete = false;
          break;
        }
        const length = buf.readInt32BE(p);
        p += 4;
        if (length < 0) {
          starts[f] = -1;
          ends[f] = -1;
          continue;
        }
        if (p + length > buf.length) {
          complete = false;
          break;
        }
        starts[f] = p;
        ends[f] = p + length;
        p += length;
      }
      if (!complete) break;
      this.reserve(p - pos);
      if (this.format === "jsonl") this.jsonRow(buf);
      else this.csvRow(buf);
      seqStart = starts[SEQ]!;
      seqEnd = ends[SEQ]!;
      hashStart = starts[HASH]!;
      hashEnd = ends[HASH]!;
      pos = p;
    }
    if (seqStart >= 0) {
      this.lastSeq = buf.toString("latin1", seqStart, seqEnd);
      this.lastHash = hashStart >= 0 ? buf.toString("latin1", hashStart, hashEnd) : null;
    }
    const rendered = this.out.subarray(0, this.o);
    if (pos < buf.length) this.keep(buf, pos);
    return rendered;
  }

  /** Throws unless the COPY output ended with its trailer, every row complete. */
  finish(): void {
    if (!this.ended || this.pendingLength) throw new Error("the COPY output ended before its trailer: rows are missing");
  }

  private keep(buf: Buffer, from: number): Buffer {
    const rest = buf.subarray(from);
    this.pending = [rest];
    this.pendingLength = rest.length;
    return Buffer.alloc(0);
  }

  /** Bytes the pending row needs before it can be rendered (a lower bound while its field lengths are not all known). */
  private needed(): number {
    const head = this.pending[0]!;
    if (!this.headerSeen) return head.length >= HEADER_LENGTH ? HEADER_LENGTH + head.readUInt32BE(SIGNATURE.length + 4) : HEADER_LENGTH;
    // Sum the known field lengths across the pending pieces without joining them.
    if (this.pendingLength < 2) return 2;
    const byteAt = (index: number) => {
      for (const piece of this.pending) {
        if (index < piece.length) return piece[index]!;
        index -= piece.length;
      }
      return -1;
    };
    const int32At = (index: number) => ((byteAt(index) << 24) | (byteAt(index + 1) << 16) | (byteAt(index + 2) << 8) | byteAt(index + 3)) | 0;
    if (byteAt(0) === 0xff && byteAt(1) === 0xff) return 2; // the trailer
    let p = 2;
    for (let f = 0; f < FIELD_COUNT; f++) {
      if (p + 4 > this.pendingLength) return p + 4;
      const length = int32At(p);
      p += 4 + Math.max(0, length);
    }
    return p;
  }

  /** Room for a row of `rowBytes` input bytes: at most 6 output bytes per input byte (\u00xx), plus keys. */
  private reserve(rowBytes: number): void {
    const need = this.o + rowBytes * 6 + 512;
    if (need <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.out.length * 2));
    this.out.copy(grown, 0, 0, this.o);
    this.out = grown;
  }

  private jsonRow(src: Buffer): void {
    const { starts, ends, out } = this;
    let o = this.o;
    // `selected` is a binary boolean: one byte, 1 for true.
    if (starts[0]! >= 0 && src[starts[0]!] === 1) {
      o = put(EVENT_PREFIX, out, o);
      for (let f = 1; f < FIELD_COUNT; f++) {
        o = put(KEY_PREFIX[f]!, out, o);
        const start = starts[f]!;
        const end = ends[f]!;
        if (f === DETAILS) o = copy(src, start, end, out, o);
        else if (start < 0) o = put(NULL, out, o);
        else if (PLAIN[f] === 1) {
          // Digits, the fixed time format, enum labels, hex: nothing to escape (the old renderer wrote them as they were too).
          out[o++] = 0x22;
          o = copy(src, start, end, out, o);
          out[o++] = 0x22;
        } else o = jsonString(src, start, end, out, o);
      }
      this.events += 1;
    } else {
      o = put(LINK_PREFIX, out, o);
      for (const f of LINK_FIELDS) {
        o = put(KEY_PREFIX[f]!, out, o);
        out[o++] = 0x22;
        o = copy(src, starts[f]!, ends[f]!, out, o);
        out[o++] = 0x22;
      }
      this.links += 1;
    }
    out[o++] = 0x7d; // }
    out[o++] = 0x0a;
    this.o = o;
  }

  private csvRow(src: Buffer): void {
    const { starts, ends, out } = this;
    let o = this.o;
    for (let f = 1; f < FIELD_COUNT; f++) {
      if (f > 1) out[o++] = 0x2c;
      const start = starts[f]!;
      if (start >= 0) o = PLAIN[f] === 1 ? copy(src, start, ends[f]!, out, o) : csvField(src, start, ends[f]!, out, o);
    }
    out[o++] = 0x0d;
    out[o++] = 0x0a;
    this.o = o;
    this.events += 1;
  }
}

// Row rendering in plain functions over (source, output, offset): the hot loop of an export.

function put(bytes: Buffer, out: Buffer, o: number): number {
  for (let i = 0; i < bytes.length; i++) out[o++] = bytes[i]!;
  return o;
}

function copy(src: Buffer, start: number, end: number, out: Buffer, o: number): number {
  // Below about 24 bytes a loop beats the call into C++.
  if (end - start > 24) return o + src.copy(out, o, start, end);
  for (let i = start; i < end; i++) out[o++] = src[i]!;
  return o;
}

function jsonString(src: Buffer, start: number, end: number, out: Buffer, o: number): number {
  out[o++] = 0x22;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (JSON_ESCAPE[b] === 0) {
      out[o++] = b;
      continue;
    }
    out[o++] = 0x5c;
    const named = JSON_NAMED[b]!;
    if (named !== 0) out[o++] = named;
    else {
      out[o++] = 0x75; // u00xx
      out[o++] = 0x30;
      out[o++] = 0x30;
      out[o++] = HEX[b >> 4]!;
      out[o++] = HEX[b & 15]!;
    }
  }
  out[o++] = 0x22;
  return o;
}

function csvField(src: Buffer, start: number, end: number, out: Buffer, o: number): number {
  if (start === end) return o;
  let quote = false;
  for (let i = start; i < end; i++) {
    if (CSV_QUOTE[src[i]!] === 1) {
      quote = true;
      break;
    }
  }
  if (quote) out[o++] = 0x22;
  if (CSV_FORMULA[src[start]!] === 1) out[o++] = 0x27; // '
  if (!quote) return copy(src, start, end, out, o);
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    out[o++] = b;
    if (b === 0x22) out[o++] = 0x22;
  }
  out[o++] = 0x22;
  return o;
}

/** The same lines from strings: the reference the byte renderer is tested against, and for rows read any other way. */
export type ExportFields = Record<EventKey, string | null>;

export function jsonEventLine(row: ExportFields): string {
  let line = '{"type":"event"';
  for (const key of EVENT_KEYS) line += `,"${key}":${key === "details" ? row.details : JSON.stringify(row[key])}`;
  return `${line}}\n`;
}

export function jsonLinkLine(row: Pick<ExportFields, "seq" | "prevHash" | "hash">): string {
  return `{"type":"link","seq":${JSON.stringify(row.seq)},"prevHash":${JSON.stringify(row.prevHash)},"hash":${JSON.stringify(row.hash)}}\n`;
}
