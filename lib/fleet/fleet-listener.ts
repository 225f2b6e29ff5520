import { NotificationListener } from "@/lib/db/listen";
import { logger } from "@/lib/observability/logger";
import { CREDENTIALS_CHANNEL, forgetServerCredentials, setCredentialCacheEnabled } from "./credential-cache";
import { notifyGeneration, type GenerationWatch } from "./generation-watch";

/** `pg_notify(GENERATION_CHANNEL, '<serverId>:<generation>')`, sent by bumpGeneration in its transaction. */
export const GENERATION_CHANNEL = "berth_generation";

/** Wakes the long-polls waiting for `payload` ('<serverId>:<generation>'); ignores anything else. */
export function dispatchGeneration(payload: string, notify: GenerationWatch["notify"] = notifyGeneration): void {
  const colon = payload.lastIndexOf(":");
  const generation = Number(payload.slice(colon + 1));
  if (colon > 0 && Number.isInteger(generation)) notify(payload.slice(0, colon), generation);
}

const holder = globalThis as unknown as { __berthFleetListener?: NotificationListener };

/**
 * The process's one LISTEN connection for the agent channel: desired-state
 * wake-ups (from any replica, this one included) and credential evictions.
 * While it is down, long-polls still end at their timeout and agents re-read,
 * and the credential cache is off.
 */
export async function startFleetListener(options: { connectionString?: string } = {}): Promise<NotificationListener> {
  if (holder.__berthFleetListener) return holder.__berthFleetListener;
  const listener = new NotificationListener({
    connectionString: options.connectionString,
    channels: [GENERATION_CHANNEL, CREDENTIALS_CHANNEL],
    onNotification: (channel, payload) => {
      if (channel === GENERATION_CHANNEL) dispatchGeneration(payload);
      else if (channel === CREDENTIALS_CHANNEL) forgetServerCredentials(payload);
    },
    onConnectionChange: (connected) => {
      setCredentialCacheEnabled(connected);
      if (connected) logger.info("listening for desired-state and credential changes");
      else if (holder.__berthFleetListener === listener) logger.warn("lost the LISTEN connection: long-polls wake only at their timeout, credential cache off, until it is back");
    },
    onError: (error, attempt) => logger.warn({ err: error, attempt }, "LISTEN connection failed; retrying"),
  });
  holder.__berthFleetListener = listener;
  await listener.start();
  return listener;
}

export async function stopFleetListener(): Promise<void> {
  const listener = holder.__berthFleetListener;
  holder.__berthFleetListener = undefined;
  await listener?.stop();
}
