"use client";

export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; code: string; message: string };

/** The browser's one way to call Berth's API: JSON in, the structured error body out. */
export async function apiRequest<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers: options.body === undefined ? {} : { "content-type": "application/json" },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, status: 0, code: "network", message: "Could not reach Berth. Check your connection and try again." };
  }
  const payload = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!response.ok) {
    return {
      ok: false,
      status: response.status,
      code: payload?.error?.code ?? "unknown",
      message: payload?.error?.message ?? `Request failed with status ${response.status}`,
    };
  }
  return { ok: true, data: payload as T };
}
