import pg from "pg";
import { databaseUrl } from "./client";

/**
 * PostgreSQL LISTEN on one dedicated connection. NOTIFY is sent inside the
 * transaction that makes the change and delivered only when it commits (and
 * never when it rolls back), to every listening session: other control-plane
 * replicas and this process alike.
 *
 * The connection reconnects with capped, jittered back-off when it drops, and
 * is pinged every `pingMs` so a connection that died silently is noticed.
 * Notifications sent while it is down are lost: `onConnectionChange` tells
 * the users (a cache that relies on them must stop trusting itself).
 */
export type NotificationListenerOptions = {
  connectionString?: string;
  channels: string[];
  onNotification: (channel: string, payload: string) => void;
  onConnectionChange?: (connected: boolean) => void;
  onError?: (error: unknown, attempt: number) => void;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  pingMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
};

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export class NotificationListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private isConnected = false;

  constructor(private readonly options: NotificationListenerOptions) {
    for (const channel of options.channels) if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Resolves once listening (or after the first failed attempt; it keeps retrying). */
  start(): Promise<void> {
    this.stopped = false;
    return this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.drop();
    await client?.end().catch(() => {});
  }

  private setConnected(connected: boolean) {
    if (this.isConnected === connected) return;
    this.isConnected = connected;
    this.options.onConnectionChange?.(connected);
  }

  /** Forgets the current connection (if any) and reports the disconnection. */
  private drop() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners("notification");
      client.removeAllListeners("end");
      client.on("error", () => {}); // a late error from a connection we gave up on
    }
    this.setConnected(false);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString ?? databaseUrl(),
      application_name: this.options.applicationName ?? "berth-listen",
      keepAlive: true,
      query_timeout: 10_000,
    });
    this.client = client;
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.drop();
      client.end().catch(() => {});
      this.scheduleReconnect(error ?? new Error("LISTEN connection ended"));
    };
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", (message) => {
      if (this.client === client) this.options.onNotification(message.channel, message.payload ?? "");
    });
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost(error);
      return;
    }
    if (this.client !== client) return;
    this.attempt = 0;
    this.pingTimer = setInterval(() => {
      client.query("SELECT 1").catch((error: unknown) => lost(error));
    }, this.options.pingMs ?? 10_000);
    this.pingTimer.unref();
    this.setConnected(true);
  }

  private scheduleReconnect(error: unknown) {
    if (this.stopped || this.reconnectTimer) return;
    this.attempt++;
    this.options.onError?.(error, this.attempt);
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.attempt - 1, 16));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }
}
