import type { IncomingMessage } from "node:http";
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
function checkJsonHeaders(contentType: string | null, contentLength: string | null, maxBytes: number) {
  if (!/^application\/json\b/i.test(contentType ?? "")) {
    throw new BerthError("unsupported_media_type", "Send the request body as JSON with Content-Type: application/json");
  }
  const declared = Number(contentLength ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new BerthError("payload_too_large", `Request body is ${declared} bytes; the limit is ${maxBytes}`, { limit: maxBytes });
  }
}

/** Collects a body from any async byte source, abandoning it once it passes `maxBytes`. */
async function collect(chunks: AsyncIterable<Uint8Array>, maxBytes: number, cancel: () => void): Promise<unknown> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      cancel();
      throw tooLarge(maxBytes);
    }
    parts.push(chunk);
  }
  return parseJsonText(Buffer.concat(parts).toString("utf8"));
}

const tooLarge = (maxBytes: number) => new BerthError("payload_too_large", `Request body exceeds the limit of ${maxBytes} bytes`, { limit: maxBytes });

/** JSON.parse with the wire errors of a bad body. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") throw new BerthError("invalid_json", "Request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BerthError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a JSON body without trusting Content-Length: the stream is counted
 * as it arrives and abandoned once it passes `maxBytes`, so an oversized or
 * lying body costs at most `maxBytes` of memory.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  checkJsonHeaders(request.headers.get("content-type"), request.headers.get("content-length"), maxBytes);
  const body = request.body;
  if (!body) throw new BerthError("invalid_json", "Request body is empty; send a JSON object");
  return collect(body as unknown as AsyncIterable<Uint8Array>, maxBytes, () => void body.cancel().catch(() => {}));
}

/** The same for a Node request (the handlers in server/). */
export async function readNodeJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return parseJsonText(await readNodeJsonText(req, maxBytes));
}

/**
 * A Node request's JSON body as text, unparsed (the same checks and limit).
 * Read with 'data' events rather than an async iterator: on the agent
 * channel (every host, every few seconds) the iterator's promise per chunk
 * showed in profiles, and a heartbeat is one chunk.
 */
export function readNodeJsonText(req: IncomingMessage, maxBytes: number): Promise<string> {
  checkJsonHeaders(req.headers["content-type"] ?? null, req.headers["content-length"] ?? null, maxBytes);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        cleanUp();
        req.destroy(); // what leaving an async iterator early does: the rest is never read
        reject(tooLarge(maxBytes));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      resolve(parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8"));
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onClose = () => {
      cleanUp();
      reject(new BerthError("invalid_json", "The request ended before its body was complete"));
    };
    const cleanUp = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}

export function searchParamsObject(url: URL): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of url.searchParams) result[key] = value;
  return result;
}
