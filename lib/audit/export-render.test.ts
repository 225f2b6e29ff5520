import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvRecord } from "@/lib/http/csv";
import { COPY_FIELDS, CopyRowRenderer, jsonEventLine, jsonLinkLine, type ExportFields } from "./export-render";

type Row = ExportFields & { selected: boolean };

/** PostgreSQL's binary COPY output for rows of COPY_FIELDS, as the server sends it (signature, flags, rows, trailer). */
function binaryCopy(rows: Row[]): Buffer {
  const parts: Buffer[] = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(COPY_FIELDS.length);
    parts.push(count);
    for (const key of COPY_FIELDS) {
      const value = key === "selected" ? Buffer.from([row.selected ? 1 : 0]) : row[key] === null ? null : Buffer.from(row[key], "utf8");
      const length = Buffer.alloc(4);
      length.writeInt32BE(value ? value.length : -1);
      parts.push(length);
      if (value) parts.push(value);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

/** Feeds `bytes` in pieces cut at `cuts` (a row, a length or the header split anywhere). */
function render(format: "csv" | "jsonl", bytes: Buffer, cuts: number[] = []) {
  const renderer = new CopyRowRenderer(format);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  const out: Buffer[] = [];
  for (const to of [...points, bytes.length]) {
    out.push(renderer.push(bytes.subarray(from, to)));
    from = to;
  }
  renderer.finish();
  return { text: Buffer.concat(out).toString("utf8"), renderer };
}

const csvOf = (r: Row) =>
  csvRecord([r.seq, r.at, r.actorKind, r.actorId, r.actorLabel, r.action, r.targetKind, r.targetId, r.targetLabel, r.outcome, r.sourceAddress, r.requestId, r.details, r.prevHash, r.hash]);

// Strings that break naive renderers: quotes, commas, backslashes, CR, LF, tabs, every control character,
// spreadsheet formula starts, non-ASCII (2-, 3- and 4-byte UTF-8), U+2028, and the empty string.
const nasty = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', ",", "\\", "\r", "\n", "\t", "=", "+", "-", "@", "'", "é", "✓", "\u2028", "😀", "\u0000", "\u0001", "\u001f", "\u007f", "a", " ") }),
  fc.string({ unit: "binary" }).map((s) => s.replace(/[\ud800-\udfff]/g, "?")), // what PostgreSQL text can hold: no lone surrogates
  fc.constant(""),
);
const hex64 = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
const row: fc.Arbitrary<Row> = fc.record({
  selected: fc.boolean(),
  seq: fc.bigInt({ min: 1n, max: 9_223_372_036_854_775_807n }).map(String),
  at: fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2199, 11, 31)), noInvalidDate: true }).map((d) => d.toISOString()),
  actorKind: fc.constantFrom("USER", "API_TOKEN", "AGENT", "SYSTEM", "ANONYMOUS"),
  actorId: fc.option(nasty),
  actorLabel: nasty,
  action: nasty,
  targetKind: fc.option(nasty),
  targetId: fc.option(nasty),
  targetLabel: fc.option(nasty),
  outcome: fc.constantFrom("SUCCESS", "FAILURE", "DENIED"),
  sourceAddress: fc.option(nasty),
  requestId: fc.option(nasty),
  // As the database prints jsonb: JSON text (here with its own spacing), spliced in as it is.
  details: fc.dictionary(nasty, fc.oneof(nasty, fc.integer(), fc.constant(null))).map((d) => JSON.stringify(d, null, 1).replace(/\n/g, " ")),
  prevHash: hex64,
  hash: hex64,
});

describe("CopyRowRenderer: export lines from binary COPY bytes", () => {
  it("JSON Lines: byte for byte the string renderer's event and link lines, however the bytes are cut", () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, cuts) => {
        const { text, renderer } = render("jsonl", binaryCopy(rows), cuts);
        expect(text).toBe(rows.map((r) => (r.selected ? jsonEventLine(r) : jsonLinkLine(r))).join(""));
        expect([renderer.events, renderer.links]).toEqual([rows.filter((r) => r.selected).length, rows.filter((r) => !r.selected).length]);
        expect([renderer.lastSeq, renderer.lastHash]).toEqual([rows.at(-1)?.seq ?? null, rows.at(-1)?.hash ?? null]);
        // Every line is one JSON object whose strings are the originals.
        for (const [i, line] of text.split("\n").slice(0, -1).entries()) {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          expect(parsed.seq).toBe(rows[i]!.seq);
          if (rows[i]!.selected) expect([parsed.actorLabel, parsed.targetId]).toEqual([rows[i]!.actorLabel, rows[i]!.targetId]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("CSV: byte for byte csvRecord, however the bytes are cut", () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, cuts) => {
        expect(render("csv", binaryCopy(rows), cuts).text).toBe(rows.map(csvOf).join(""));
      }),
      { numRuns: 300 },
    );
  });

  it("every control character, quote and backslash escaped as JSON.stringify does", () => {
    const all = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c)).join("") + "é✓😀\u2028";
    const base: Row = {
      selected: true, seq: "1", at: "2026-11-25T10:00:00.000Z", actorKind: "USER", actorId: all, actorLabel: all, action: "a.b", targetKind: null,
      targetId: "", targetLabel: all, outcome: "SUCCESS", sourceAddress: null, requestId: null, details: JSON.stringify({ all }), prevHash: "0".repeat(64), hash: "f".repeat(64),
    };
    const { text } = render("jsonl", binaryCopy([base]));
    expect(text).toBe(jsonEventLine(base));
    expect(JSON.parse(text)).toMatchObject({ actorId: all, targetId: "", targetKind: null, details: { all } });
    expect(render("csv", binaryCopy([base])).text).toBe(csvOf(base));
  });

  it("a row cut off, or output without its trailer, is an error rather than a shorter file", () => {
    const bytes = binaryCopy([{ selected: true, seq: "1", at: "x", actorKind: "USER", actorId: null, actorLabel: "l", action: "a", targetKind: null, targetId: null, targetLabel: null, outcome: "SUCCESS", sourceAddress: null, requestId: null, details: "{}", prevHash: "0", hash: "1" }]);
    for (const cut of [bytes.length - 2, bytes.length - 5, 20]) {
      const renderer = new CopyRowRenderer("jsonl");
      renderer.push(bytes.subarray(0, cut));
      expect(() => renderer.finish()).toThrow(/before its trailer/);
    }
    const wrong = Buffer.from(bytes);
    wrong.writeInt16BE(3, 19);
    expect(() => new CopyRowRenderer("csv").push(wrong)).toThrow(/3 fields/);
    expect(() => new CopyRowRenderer("csv").push(Buffer.from("seq,at\n1,2\n".repeat(3)))).toThrow(/not PostgreSQL binary COPY/);
  });
});
