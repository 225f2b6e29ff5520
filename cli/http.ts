/** The CLI's one way to call the API: base URL and token from flags or BERTH_URL / BERTH_TOKEN. */
export type Connection = { url: string; token: string | undefined };

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function connectionFrom(options: { url?: string; token?: string }): Connection {
  const url = (options.url ?? process.env.BERTH_URL ?? "http://localhost:3000").replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new CliError(`--url / BERTH_URL is not a URL: ${url}`, 2);
  }
  return { url, token: options.token ?? process.env.BERTH_TOKEN };
}

export async function callApi<T>(connection: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${connection.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new CliError(`cannot reach Berth at ${connection.url}${cause ? ` (${cause})` : ""}; check --url or BERTH_URL`);
  }
  const text = await response.text();
  let payload: unknown = undefined;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = text; // not JSON: a CSV export, or an error reported below
  }
  if (!response.ok) throw new CliError(apiErrorMessage(response.status, text, connection));
  return payload as T;
}

/** Turns an API error body into the CLI's one-line message. */
export function apiErrorMessage(status: number, text: string, connection: Connection): string {
  let error: { code?: string; message?: string; details?: { issues?: { path: string; message: string }[] } } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  const issues = error?.details?.issues?.map((i) => `\n  ${i.path}: ${i.message}`).join("") ?? "";
  const hint = status === 401 && !connection.token ? " (no token: set BERTH_TOKEN or pass --token)" : "";
  return `${error?.message ?? (text.trim().slice(0, 200) || `HTTP ${status}`)}${hint} [${error?.code ?? status}]${issues}`;
}
