import { auditActor } from "@/lib/auth/actor";
import { verifyAuditChainFor } from "@/lib/audit/verify-chain";
import { handleNode } from "@/lib/http/node-api";
import { verifyAuditChainApi } from "@/app/api/v1/audit/verification/schemas";

/**
 * Live verification, answered here rather than through Next: the walk runs
 * worker threads (lib/audit/verify-chain-worker.mjs), whose files must be
 * loaded by Node from the source tree, not from Next's bundle.
 */
export const verifyAuditChainRoute = handleNode(verifyAuditChainApi, ({ actor, request }) => verifyAuditChainFor(auditActor(actor), request));
