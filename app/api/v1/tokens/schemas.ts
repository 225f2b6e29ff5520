import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZCreateApiToken } from "@/lib/auth/api-tokens";
import { ROLES } from "@/lib/auth/roles";

export const ZApiToken = z.object({
  id: z.uuid(),
  name: z.string(),
  role: z.enum(ROLES),
  displayPrefix: z.string().describe("The token's first characters, to recognise it in a list"),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  status: z.enum(["active", "expired", "revoked"]),
  canInfer: z.boolean().describe("May call the inference gateway"),
});

export const listTokens = defineApi({
  method: "get",
  path: "/api/v1/tokens",
  tag: "Tokens",
  summary: "List API tokens (your own; an ADMIN sees all)",
  permission: "tokens.own",
  response: z.object({ tokens: z.array(ZApiToken) }),
});

export const createToken = defineApi({
  method: "post",
  path: "/api/v1/tokens",
  tag: "Tokens",
  summary: "Create an API token; the secret is in this response only",
  permission: "tokens.own",
  action: "token.create",
  body: ZCreateApiToken,
  status: 201,
  response: z.object({ token: ZApiToken, secret: z.string().describe("Send as `Authorization: Bearer <secret>`. Shown once.") }),
});

export const revokeToken = defineApi({
  method: "delete",
  path: "/api/v1/tokens/{id}",
  tag: "Tokens",
  summary: "Revoke an API token; it stops working at once",
  permission: "tokens.own",
  action: "token.revoke",
  params: z.object({ id: z.string().max(64) }).strict(),
  response: z.object({ token: ZApiToken }),
});
