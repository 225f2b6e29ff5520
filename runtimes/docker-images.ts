/**
 * Loading an image archive into a Docker Engine and asking whether an image
 * is there: shared by the control plane's runtime-image code and the host
 * agent (which bundles this file, so it imports nothing heavy).
 */
import type Dockerode from "dockerode";

/** An archive stream to `docker load` failed, or the engine refused it. */
export class ImageLoadError extends Error {}

/**
 * `docker load`s an image archive from a stream (e.g. the download from the
 * control plane) and resolves once the engine has finished. Rejects with the
 * engine's message when it refuses the archive, and with the stream's error
 * when the stream fails (the upload to the engine is aborted then).
 */
export async function loadImageArchive(docker: Dockerode, archive: NodeJS.ReadableStream, signal?: AbortSignal): Promise<void> {
  const abort = new AbortController();
  if (signal) {
    if (signal.aborted) abort.abort(signal.reason);
    else signal.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
  }
  let sourceError: Error | null = null;
  archive.once("error", (error: Error) => {
    sourceError = error;
    abort.abort(error);
  });
  let response: NodeJS.ReadableStream;
  try {
    response = (await docker.loadImage(archive, { quiet: true, abortSignal: abort.signal } as object)) as NodeJS.ReadableStream;
  } catch (error) {
    if (sourceError) throw new ImageLoadError(`the image archive stream failed: ${(sourceError as Error).message}`);
    throw new ImageLoadError(`docker load failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  let text = "";
  try {
    for await (const chunk of response) text += chunk.toString();
  } catch (error) {
    if (sourceError) throw new ImageLoadError(`the image archive stream failed: ${(sourceError as Error).message}`);
    throw new ImageLoadError(`docker load failed while reading its answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (sourceError) throw new ImageLoadError(`the image archive stream failed: ${(sourceError as Error).message}`);
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let entry: { error?: string; errorDetail?: { message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // not a progress line
    }
    if (entry.error || entry.errorDetail) throw new ImageLoadError(`docker load failed: ${entry.errorDetail?.message ?? entry.error}`);
  }
}

/** Whether the engine has an image by this tag (or id). */
export async function imageExists(docker: Dockerode, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}
