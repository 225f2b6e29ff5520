import { z } from "zod";
import type { ChainedFields } from "./canonical";

/**
 * The audit explorer's filters, shared by the page, the JSON API and both
 * exports, and turned into SQL in one place (`auditWhere`).
 */

// Earliest and latest instants a filter may name: Berth has no events before
// the first and none can be stamped after the second, so a bound outside them
// is a typo (year 0202, 20260) rather than a question worth a full scan.
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

const instant = (name: "from" | "to") =>
  z.iso
    .datetime({ offset: true, message: `${name} must be an ISO 8601 time such as 2026-11-25T00:00:00Z` })
    .refine((value) => {
      const ms = Date.parse(value);
      return ms >= EARLIEST && ms < LATEST;
    }, `${name} must be between 2000-01-01 and 2200-01-01`);

/** The filter's fields; API queries extend this, then apply `checkTimeOrder`. */
export const ZAuditFilterFields = z.object({
    from: instant("from").optional().describe("Earliest time, inclusive (ISO 8601)"),
    to: instant("to").optional().describe("Latest time, exclusive (ISO 8601)"),
    actor: z.string().trim().min(1).max(320).optional().describe("Actor label (an email, a token or server name) or id, exact"),
    action: z
      .string()
      .trim()
      .regex(/^[a-z0-9_.]{1,128}$/, { message: "action is an action or its prefix, such as deployment. or server.enrol" })
      .optional()
      .describe("Action prefix: `deployment.` matches every deployment action"),
    target: z.string().trim().min(1).max(320).optional().describe("Target label (a model, server or deployment name) or id, exact"),
    outcome: z
      .string()
      .transform((value) => value.toUpperCase())
      .pipe(z.enum(["SUCCESS", "FAILURE", "DENIED"], { message: "outcome must be success, failure or denied" }))
      .optional()
      .describe("success, failure or denied"),
    q: z.string().trim().min(1).max(200).optional().describe("Free text searched in the events' details (case-insensitive)"),
});

export function checkTimeOrder<T extends z.ZodType<{ from?: string; to?: string }>>(schema: T) {
  return schema.refine((filter) => !filter.from || !filter.to || Date.parse(filter.from) < Date.parse(filter.to), {
    message: "from must be before to",
    path: ["to"],
  });
}

export const ZAuditFilter = checkTimeOrder(ZAuditFilterFields.strict());
export type AuditFilter = z.infer<typeof ZAuditFilter>;

/** Strings given to LIKE are matched literally: %, _ and \ escaped. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The filter as a SQL condition over audit_events, with `$n` placeholders
 * numbered from `firstParam`. Time bounds are left out with `withTime: false`
 * (the export turns them into a seq range instead).
 */
export function auditWhere(filter: AuditFilter, firstParam = 1, options: { withTime?: boolean } = {}): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  if (options.withTime !== false) {
    if (filter.from) conditions.push(`at >= ${param(new Date(filter.from))}`);
    if (filter.to) conditions.push(`at < ${param(new Date(filter.to))}`);
  }
  if (filter.actor) {
    const p = param(filter.actor);
    conditions.push(`(actor_label = ${p} OR actor_id = ${p})`);
  }
  if (filter.action) conditions.push(`action LIKE ${param(`${likeLiteral(filter.action)}%`)}`);
  if (filter.target) {
    const p = param(filter.target);
    conditions.push(`(target_label = ${p} OR target_id = ${p})`);
  }
  if (filter.outcome) conditions.push(`outcome = ${param(filter.outcome)}::"AuditOutcome"`);
  if (filter.q) conditions.push(`details::text ILIKE ${param(`%${likeLiteral(filter.q)}%`)}`);
  return { sql: conditions.length ? conditions.join(" AND ") : "TRUE", params };
}

/**
 * The columns every reader selects, in the chain's canonical types (seq as
 * text, time as ISO 8601 with milliseconds). Order by `audit_events.seq`:
 * a bare `ORDER BY seq` would name the text alias and sort 10 before 9.
 */
export const AUDIT_COLUMNS = `seq::text AS seq,
  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
  actor_kind::text AS "actorKind", actor_id AS "actorId", actor_label AS "actorLabel", action,
  target_kind AS "targetKind", target_id AS "targetId", target_label AS "targetLabel",
  outcome::text AS outcome, source_address AS "sourceAddress", request_id AS "requestId",
  details::text AS details, prev_hash AS "prevHash", hash`;

/** A row as the readers select it: the chained fields, details still JSON text, and the hashes. */
export type AuditRow = Omit<ChainedFields, "details"> & { details: string; prevHash: string; hash: string };

/** A filter as query-string pairs (the explorer's links and export buttons). */
export function filterSearchParams(filter: AuditFilter): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value) params.set(key, String(value));
  return params;
}
