-- Audited mutations no longer wait on the chain. Before, each one appended its
-- event under the chain's lock and held that lock through COMMIT, WAL flush
-- included, so the whole system could never commit audited changes faster
-- than the disk flushes commits one after another (bench/audit: about 1,400 a
-- second on the development VM, 450 in practice). Now a transaction records
-- its event here, with no lock, and commits it durably together with its
-- change (concurrent commits share a flush). The sequencer
-- (berth_audit_chain_pending, run by lib/audit/sequencer.ts) then moves
-- pending events into the chain in batches: one lock, one flush per batch.
-- An event is in the chain a few milliseconds after its transaction commits;
-- every read of the audit log chains what is pending first.
CREATE TABLE "audit_pending" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor_kind" "ActorKind" NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_kind" TEXT,
    "target_id" TEXT,
    "target_label" TEXT,
    "outcome" "AuditOutcome" NOT NULL,
    "source_address" TEXT,
    "request_id" TEXT,
    "details" JSONB NOT NULL,
    "canon_1" TEXT NOT NULL,
    "canon_2" TEXT NOT NULL,
    "canon_3" TEXT NOT NULL,

    CONSTRAINT "audit_pending_pkey" PRIMARY KEY ("id")
);

-- Pending events are history already: nothing edits them, and only the
-- sequencer removes them, in the transaction that appends them to the chain.
CREATE FUNCTION "berth_refuse_pending_change"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('berth.chaining', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_pending is append-only: % refused (only the sequencer moves events into the chain)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER "audit_pending_refuse_change"
  BEFORE UPDATE OR DELETE ON "audit_pending"
  FOR EACH ROW EXECUTE FUNCTION "berth_refuse_pending_change"();

CREATE TRIGGER "audit_pending_refuse_truncate"
  BEFORE TRUNCATE ON "audit_pending"
  FOR EACH STATEMENT EXECUTE FUNCTION "berth_refuse_pending_change"();

-- The append now takes the event's time from its caller (when the change was
-- recorded, not when it was chained); without one it is the clock, as before.
DROP FUNCTION "berth_audit_append"("ActorKind", text, text, text, text, text, text, "AuditOutcome", text, text, jsonb, text, text, text);

CREATE FUNCTION "berth_audit_append"(
  p_actor_kind "ActorKind", p_actor_id text, p_actor_label text, p_action text,
  p_target_kind text, p_target_id text, p_target_label text, p_outcome "AuditOutcome",
  p_source_address text, p_request_id text, p_details jsonb,
  p_canon_1 text, p_canon_2 text, p_canon_3 text, p_at timestamptz DEFAULT NULL,
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
  v_at := date_trunc('milliseconds', coalesce(p_at, clock_timestamp()));
  out_hash := encode(sha256(convert_to(
    v_prev || E'\n' || p_canon_1 || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      || p_canon_2 || out_seq::text || p_canon_3, 'UTF8')), 'hex');
  INSERT INTO audit_events (seq, at, actor_kind, actor_id, actor_label, action, target_kind, target_id,
                            target_label, outcome, source_address, request_id, details, prev_hash, hash)
  VALUES (out_seq, v_at, p_actor_kind, p_actor_id, p_actor_label, p_action, p_target_kind, p_target_id,
          p_target_label, p_outcome, p_source_address, p_request_id, p_details, v_prev, out_hash);
END
$$ LANGUAGE plpgsql;

-- The sequencer's step: under the chain lock, append up to p_limit pending
-- events in the order they were recorded and remove them, in one transaction.
-- The lock is taken before the pending rows are read, so two control planes
-- running the sequencer at once never chain the same event twice (each
-- statement of a volatile function reads a fresh snapshot). Returns how many
-- it chained; fewer than p_limit means none was left committed.
CREATE FUNCTION "berth_audit_chain_pending"(p_limit integer) RETURNS integer AS $$
DECLARE
  v_event audit_pending;
  v_ids bigint[] := '{}';
BEGIN
  PERFORM pg_advisory_xact_lock(1650815604);
  PERFORM set_config('berth.chaining', 'on', true);
  FOR v_event IN SELECT * FROM audit_pending ORDER BY id LIMIT p_limit LOOP
    PERFORM berth_audit_append(v_event.actor_kind, v_event.actor_id, v_event.actor_label, v_event.action,
      v_event.target_kind, v_event.target_id, v_event.target_label, v_event.outcome, v_event.source_address,
      v_event.request_id, v_event.details, v_event.canon_1, v_event.canon_2, v_event.canon_3, v_event.at);
    v_ids := v_ids || v_event.id;
  END LOOP;
  DELETE FROM audit_pending WHERE id = ANY (v_ids);
  PERFORM set_config('berth.chaining', 'off', true);
  RETURN cardinality(v_ids);
END
$$ LANGUAGE plpgsql;
