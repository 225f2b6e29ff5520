import { handle } from "@/lib/http/api";
import { listVersions } from "@/lib/registry/versions";
import { listVersionsApi } from "./schemas";

// POST (the upload itself) is answered by server/routes.ts, ahead of Next, so the body streams.
export const GET = handle(listVersionsApi, async ({ params }) => ({ versions: await listVersions(params.name) }));
