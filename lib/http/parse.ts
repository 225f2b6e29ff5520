import { type z } from "zod";
import { BerthError } from "./errors";

/** Turns zod issues into details a person (or a script) can act on: which field, what is wrong. */
export function describeIssues(error: z.ZodError) {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

export function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = describeIssues(result.error);
    const first = issues[0];
    throw new BerthError(
      "validation_failed",
      `Invalid ${where}: ${first ? `${first.path}: ${first.message}` : "does not match the expected shape"}`,
      { issues },
    );
  }
  return result.data;
}

/**
 * Reads a JSON body without trusting Content-Length: the stream is counted
 * as it arrives and abandoned once it passes `maxBytes`, so an oversized or
 * lying body costs at most `maxBytes` of memory.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new BerthError("unsupported_media_type", "Send the request body as JSON with Content-Type: application/json");
  }
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new BerthError("payload_too_large", `Request body is ${declared} bytes; the limit is ${maxBytes}`, { limit: maxBytes });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new BerthError("payload_too_large", `Request body exceeds the limit of ${maxBytes} bytes`, { limit: maxBytes });
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new BerthError("invalid_json", "Request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BerthError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
  }
}

export function searchParamsObject(url: URL): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of url.searchParams) result[key] = value;
  return result;
}
