import { readSettings } from "./settings";

/** The URL hosts use to reach this control plane: BERTH_PUBLIC_URL, else the one this request came in on. */
export function controlPlaneUrl(request: Request): string {
  const configured = readSettings().publicUrl;
  if (configured) return configured.replace(/\/+$/, "");
  const host = request.headers.get("host");
  const url = new URL(request.url);
  return host ? `${url.protocol}//${host}` : url.origin;
}
