import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";
import { checkChainRange, type CheckpointAnchor, type RangeCheck, type SeqRange } from "./chain-range";

/**
 * A worker thread of the live walk: one connection of its own, one seq range
 * per message, read inside the snapshot the walk exported so every range
 * sees the same chain (pg_export_snapshot, SET TRANSACTION SNAPSHOT).
 */
export type RangeJob = { snapshot: string; range: SeqRange; checkpoint: CheckpointAnchor | null };
export type RangeReply = { result: RangeCheck } | { error: string };

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i;

const port = parentPort!;
const client = new pg.Client({ connectionString: (workerData as { url: string }).url, application_name: "berth audit verify" });
// A connection that breaks (the database restarting) ends this worker; the walk that was using it fails and the next one starts a new worker.
client.on("error", (error) => {
  throw error;
});
const connected = client.connect();

port.on("message", (job: RangeJob) => {
  void check(job).then((reply) => port.postMessage(reply));
});

async function check(job: RangeJob): Promise<RangeReply> {
  try {
    if (!SNAPSHOT_ID.test(job.snapshot)) throw new Error(`not a snapshot id: ${job.snapshot}`);
    await connected;
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      await client.query(`SET TRANSACTION SNAPSHOT '${job.snapshot}'`);
      return { result: await checkChainRange(client, job.range, job.checkpoint) };
    } finally {
      await client.query("COMMIT");
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
