import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** What the agent keeps between runs: its credential (mode 0600) and which server it is. */
export type AgentState = { serverId: string; serverName: string; credential: string; controlPlane: string };

const FILE = "agent.json";

export async function loadState(stateDir: string): Promise<AgentState | null> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, FILE), "utf8")) as AgentState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a credential. */
export async function saveState(stateDir: string, state: AgentState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const target = path.join(stateDir, FILE);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(temporary, target);
}

/**
 * Other things the agent keeps across restarts, beside its credential and with
 * the same care (mode 0600, written whole): the last desired state, so that an
 * agent restarted while the control plane is away still knows what to keep
 * running, and the crash history of its replicas. A file that does not parse
 * is treated as absent.
 */
export async function loadJson<T>(stateDir: string, file: string, parse: (value: unknown) => T | null): Promise<T | null> {
  try {
    return parse(JSON.parse(await readFile(path.join(stateDir, file), "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || error instanceof SyntaxError) return null;
    throw error;
  }
}

export async function saveJson(stateDir: string, file: string, value: unknown): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const target = path.join(stateDir, file);
  const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, JSON.stringify(value), { mode: 0o600 });
  await rename(temporary, target);
}
