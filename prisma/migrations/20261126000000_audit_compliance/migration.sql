-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "through_seq" BIGINT NOT NULL,
    "continues_from_hash" TEXT NOT NULL,
    "purged_count" BIGINT NOT NULL,
    "purged_before" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("id")
);


-- Checkpoints are history too: nothing edits or removes them.
CREATE TRIGGER "audit_checkpoints_refuse_change"
  BEFORE UPDATE OR DELETE ON "audit_checkpoints"
  FOR EACH ROW EXECUTE FUNCTION "berth_refuse_audit_change"();

CREATE TRIGGER "audit_checkpoints_refuse_truncate"
  BEFORE TRUNCATE ON "audit_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION "berth_refuse_audit_change"();

-- Retention: an event may be deleted only once a checkpoint covers it, so the
-- one purge path (lib/audit/retention.ts) must first record where the chain
-- continues. Updates stay refused.
DROP TRIGGER "audit_events_refuse_update_delete" ON "audit_events";

CREATE TRIGGER "audit_events_refuse_update"
  BEFORE UPDATE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "berth_refuse_audit_change"();

CREATE FUNCTION "berth_refuse_audit_delete"() RETURNS trigger AS $$
BEGIN
  IF OLD.seq <= (SELECT max(through_seq) FROM audit_checkpoints) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: DELETE of event % refused (no retention checkpoint covers it)', OLD.seq
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER "audit_events_refuse_delete"
  BEFORE DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "berth_refuse_audit_delete"();

-- The explorer's filters: action prefixes (LIKE 'deployment.%') need a
-- pattern index whatever the database collation; actor and target are exact.
CREATE INDEX "audit_events_action_pattern_idx" ON "audit_events" ("action" text_pattern_ops, "seq");
CREATE INDEX "audit_events_actor_idx" ON "audit_events" ("actor_label", "seq");
CREATE INDEX "audit_events_target_idx" ON "audit_events" ("target_label", "seq");

-- Appends one event in one round trip. The chain is serialised by one
-- transaction-scoped advisory lock, held until the caller commits, so the
-- time between taking it and committing bounds how many audited mutations
-- per second the whole system sustains: doing the head read, the sequence,
-- the clock and the hash here instead of in three statements from Node cuts
-- that time to the statement itself (bench/audit).
--
-- The caller sends the event's canonical JSON (docs/audit-verification.md)
-- split around the two values only known here, `at` and `seq`:
--   canonical = p_canon_1 || at || p_canon_2 || seq || p_canon_3
-- lib/audit/canonical.ts builds the parts from the same canonicalJson the
-- verifiers use, so the form is defined once.
CREATE FUNCTION "berth_audit_append"(
  p_actor_kind "ActorKind", p_actor_id text, p_actor_label text, p_action text,
  p_target_kind text, p_target_id text, p_target_label text, p_outcome "AuditOutcome",
  p_source_address text, p_request_id text, p_details jsonb,
  p_canon_1 text, p_canon_2 text, p_canon_3 text,
  OUT out_seq bigint, OUT out_hash text
) AS $$
DECLARE
  v_prev text;
  v_at timestamptz(3);
BEGIN
  PERFORM pg_advisory_xact_lock(1650815604);
  SELECT e.hash INTO v_prev FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF v_prev IS NULL THEN
    SELECT c.continues_from_hash INTO v_prev FROM audit_checkpoints c ORDER BY c.id DESC LIMIT 1;
  END IF;
  v_prev := coalesce(v_prev, repeat('0', 64));
  out_seq := nextval(pg_get_serial_sequence('audit_events', 'seq'));
  -- Truncated, not rounded: the stored value and the hashed text must agree.
  v_at := date_trunc('milliseconds', clock_timestamp());
  out_hash := encode(sha256(convert_to(
    v_prev || E'\n' || p_canon_1 || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      || p_canon_2 || out_seq::text || p_canon_3, 'UTF8')), 'hex');
  INSERT INTO audit_events (seq, at, actor_kind, actor_id, actor_label, action, target_kind, target_id,
                            target_label, outcome, source_address, request_id, details, prev_hash, hash)
  VALUES (out_seq, v_at, p_actor_kind, p_actor_id, p_actor_label, p_action, p_target_kind, p_target_id,
          p_target_label, p_outcome, p_source_address, p_request_id, p_details, v_prev, out_hash);
END
$$ LANGUAGE plpgsql;
