import { handle, json } from "@/lib/http/api";
import { checkDatabase } from "@/lib/observability/health";
import { BERTH_VERSION } from "@/lib/version";
import { health } from "./schemas";

export const dynamic = "force-dynamic";

export const GET = handle(health, async () => {
  const database = await checkDatabase();
  return json({ status: database.ok ? "ok" : "unavailable", version: BERTH_VERSION, database }, { status: database.ok ? 200 : 503 });
});
