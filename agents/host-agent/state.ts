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
