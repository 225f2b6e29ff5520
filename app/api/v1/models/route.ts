import { handle } from "@/lib/http/api";
import { createModel, listModels } from "@/lib/registry/models";
import { createModelApi, listModelsApi } from "./schemas";

export const GET = handle(listModelsApi, async ({ query }) => listModels({ search: query.q, limit: query.limit, after: query.after }));

export const POST = handle(createModelApi, async ({ actor, request, body }) => ({ model: await createModel({ actor, request, input: body }) }));
