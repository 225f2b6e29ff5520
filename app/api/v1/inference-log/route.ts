import { handle } from "@/lib/http/api";
import { listInferenceLog } from "@/lib/gateway/inference-log";
import { listInferenceLogApi } from "./schemas";

export const GET = handle(listInferenceLogApi, async ({ query }) => {
  const { cursor, limit, ...filter } = query;
  return listInferenceLog({ filter, limit, cursor });
});
