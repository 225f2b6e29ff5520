/** One CSV record (RFC 4180): quoted when needed, and cells that a spreadsheet would run as a formula are defused. */
export function csvRecord(values: (string | number | boolean | null | undefined)[]): string {
  return (
    values
      .map((value) => {
        if (value === null || value === undefined) return "";
        let text = String(value);
        if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = `'${text}`;
        return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
      })
      .join(",") + "\r\n"
  );
}
