import { handle } from "@/lib/http/api";
import { createRuntime, listRuntimes } from "@/lib/deployments/runtimes";
import { createRuntimeApi, listRuntimesApi } from "./schemas";

export const GET = handle(listRuntimesApi, async () => ({ runtimes: await listRuntimes() }));

export const POST = handle(createRuntimeApi, async ({ actor, request, body }) => ({ runtime: await createRuntime({ actor, request, input: body }) }));
