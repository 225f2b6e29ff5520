import { handle } from "@/lib/http/api";
import { readSettings } from "@/lib/config/settings";
import { deleteVersion, getVersion, updateVersion } from "@/lib/registry/versions";
import { deleteVersionApi, getVersionApi, updateVersionApi } from "./schemas";

export const GET = handle(getVersionApi, async ({ params }) => ({ version: await getVersion(params.name, params.version) }));

export const PATCH = handle(updateVersionApi, async ({ actor, request, params, body }) => ({
  version: await updateVersion({ actor, request, modelName: params.name, label: params.version, input: body }),
}));

export const DELETE = handle(deleteVersionApi, async ({ actor, request, params }) => {
  await deleteVersion({ actor, request, modelName: params.name, label: params.version, blobDir: readSettings().blobDir });
  return { deleted: true };
});
