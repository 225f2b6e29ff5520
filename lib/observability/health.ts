import { getDb } from "@/lib/db/client";

export type DatabaseHealth = { ok: true; latencyMs: number } | { ok: false; error: string };

export async function checkDatabase(timeoutMs = 2000): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      getDb().$queryRaw`SELECT 1`,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    // The message only: driver errors can quote the connection string.
    return { ok: false, error: error instanceof Error ? error.message.split("\n")[0]!.replace(/postgres(ql)?:\/\/\S+/g, "[database url]") : "unknown error" };
  } finally {
    clearTimeout(timer);
  }
}
