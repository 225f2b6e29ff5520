import { handle } from "@/lib/http/api";
import { deploymentIdOf } from "@/lib/deployments/deployments";
import { ledgerResponse, listLedger } from "@/lib/deployments/ledger";
import { deploymentLedgerApi } from "../../schemas";

export const GET = handle(deploymentLedgerApi, async ({ params, query }) => {
  const entries = await listLedger({ deploymentId: await deploymentIdOf(params.name), at: query.at ? new Date(query.at) : undefined, limit: query.limit });
  return ledgerResponse(entries, query.format, `ledger-${params.name}`);
});
