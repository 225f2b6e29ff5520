import { describe, expect, it } from "vitest";
import { csvField, csvRecord } from "./csv";

describe("CSV export fields", () => {
  it("quotes separators and defuses spreadsheet formulas", () => {
    expect(csvField(null)).toBe("");
    expect(csvField(503)).toBe("503");
    expect(csvField(-1)).toBe("-1");
    expect(csvField('ci "nightly", (ops@example.com)')).toBe('"ci ""nightly"", (ops@example.com)"');
    expect(csvField("=HYPERLINK(\"http://evil\")")).toBe("\"'=HYPERLINK(\"\"http://evil\"\")\"");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
  });

  it("joins a record and ends it with CRLF", () => {
    expect(csvRecord(["a", 1, null, "x,y"])).toBe('a,1,,"x,y"\r\n');
  });
});

describe("CSV fields, every leading character", () => {
  it("defuses exactly = + - @ tab and carriage return at the start", () => {
    for (let code = 0; code < 0x3000; code++) {
      const text = `${String.fromCharCode(code)}x`;
      const expected = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
      expect(csvField(text).replace(/^"|"$/g, "").replace(/""/g, '"')).toBe(expected);
    }
    expect(csvField("")).toBe("");
    expect(csvRecord([])).toBe("\r\n");
    expect(csvRecord([undefined, "", 0, false])).toBe(",,0,false\r\n");
  });
});
