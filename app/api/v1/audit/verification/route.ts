import { handle } from "@/lib/http/api";
import { auditActor } from "@/lib/auth/actor";
import { verifyAuditChainFor } from "@/lib/audit/verify-chain";
import { verifyAuditChainApi } from "./schemas";

export const GET = handle(verifyAuditChainApi, async ({ actor, request }) => verifyAuditChainFor(auditActor(actor), request));
