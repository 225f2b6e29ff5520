import { handle } from "@/lib/http/api";
import { findVersion } from "@/lib/registry/versions";
import { ledgerResponse, listLedger } from "@/lib/deployments/ledger";
import { versionLedgerApi } from "../schemas";

export const GET = handle(versionLedgerApi, async ({ params, query }) => {
  const { version } = await findVersion(params.name, params.version);
  const entries = await listLedger({ modelVersionId: version.id, at: query.at ? new Date(query.at) : undefined, limit: query.limit });
  return ledgerResponse(entries, query.format, `ledger-${params.name}-${params.version}`);
});
