/** The export formats, apart from the exporter so the CLI can name them without loading the database client. */
export const AUDIT_EXPORT_FORMATS = ["csv", "jsonl"] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];
