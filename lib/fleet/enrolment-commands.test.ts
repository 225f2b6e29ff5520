import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AGENT_IMAGE_DOWNLOAD_PATH, agentImageTag } from "@/lib/protocol/agent";
import { BERTH_VERSION } from "@/lib/version";
import { AGENT_SYSTEMD_UNIT, enrolmentCommands, shellWord } from "./servers";

const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(os.tmpdir(), "berth-enrolment-commands-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TOKEN = "berth_enrol_AbC-123_xyz";
const HOSTILE = [
  `http://berth.example:3000/$(touch ${work}/pwned-1)`,
  `http://berth.example/'; touch ${work}/pwned-2; echo '`,
  `http://berth.example/\`touch ${work}/pwned-3\``,
  `http://berth.example/" && touch ${work}/pwned-4 && "`,
  "http://berth.example/a b\tc|d&e;f<g>h*?[x]~{y,z}%s%n\\",
];

/**
 * Runs a printed command line in sh with every program it calls replaced by a
 * shell function that records its arguments: what each program would have
 * been given, and nothing executed. Calls in one pipeline run concurrently,
 * so their order is not asserted.
 */
function argumentsOf(command: string, programs: string[]): string[][] {
  const log = path.join(work, `calls-${Math.random().toString(36).slice(2)}`);
  // One write per call: the stages of a pipeline run at once, and two appends per call could interleave.
  const stubs = programs.map((p) => `${p}() { line=$(printf '%s\\037' "${p}" "$@"); printf '%s\\n' "$line" >> "$CALLS"; }`).join("\n");
  execFileSync("sh", ["-c", `${stubs}\n${command}`], { cwd: work, env: { ...process.env, CALLS: log } });
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\u001f").slice(0, -1));
  rmSync(log);
  return calls;
}
const callsOf = (calls: string[][], program: string) => calls.filter((c) => c[0] === program);

describe("shellWord", () => {
  it("keeps safe words as they are and quotes the rest so that sh gives back exactly the input", () => {
    expect(shellWord("http://127.0.0.1:3000")).toBe("http://127.0.0.1:3000");
    expect(shellWord(TOKEN)).toBe(TOKEN);
    for (const value of [...HOSTILE, "", "'", "''", "it's"]) {
      const echoed = execFileSync("sh", ["-c", `printf '%s' ${shellWord(value)}`], { encoding: "utf8" });
      expect(echoed).toBe(value);
    }
    expect(HOSTILE.map((_, i) => existsSync(path.join(work, `pwned-${i + 1}`)))).toEqual(HOSTILE.map(() => false));
  });
});

describe("the enrolment commands", () => {
  it("hand a hostile control-plane URL (it can come from the Host header) to each program as one argument, running nothing", () => {
    for (const url of HOSTILE) {
      const commands = enrolmentCommands({ url, token: TOKEN, name: "host-1" });
      expect(argumentsOf(commands.npx, ["npx"])).toEqual([["npx", "berth", "agent", "--url", url, "--token", TOKEN]]);
      expect(argumentsOf(commands.bundle, ["curl", "node"])).toEqual([
        ["curl", "-fsSLO", `${url}/downloads/berth-agent.mjs`],
        ["node", "berth-agent.mjs", "--url", url, "--token", TOKEN],
      ]);
      const docker = argumentsOf(commands.docker, ["install", "curl", "docker", "stat"]);
      expect(callsOf(docker, "curl")).toEqual([["curl", "-fsSL", `${url}${AGENT_IMAGE_DOWNLOAD_PATH}`]]);
      const run = callsOf(docker, "docker").find((c) => c[1] === "run")!;
      expect(run.slice(-3)).toEqual([agentImageTag(BERTH_VERSION), "--url", url]);
    }
    expect(HOSTILE.map((_, i) => existsSync(path.join(work, `pwned-${i + 1}`)))).toEqual(HOSTILE.map(() => false));
  });

  it("runs the agent image the offline build names, as uid 10001 with the socket's group and the state folder at its host path", () => {
    const { docker } = enrolmentCommands({ url: "https://berth.example.internal", token: TOKEN, name: "host-1" });
    const calls = argumentsOf(docker, ["install", "curl", "docker", "stat"]);
    expect(callsOf(calls, "install")).toEqual([["install", "-d", "-o", "10001", "-g", "10001", "-m", "0700", "/var/lib/berth-agent"]]);
    expect(callsOf(calls, "docker").find((c) => c[1] === "load")).toEqual(["docker", "load"]);
    expect(callsOf(calls, "stat")).toEqual([["stat", "-c", "%g", "/var/run/docker.sock"]]);
    const run = callsOf(calls, "docker").find((c) => c[1] === "run")!;
    const image = agentImageTag(BERTH_VERSION);
    expect(image).toBe(`berth/agent:${BERTH_VERSION}`);
    expect(run.slice(0, 3)).toEqual(["docker", "run", "-d"]);
    const flags = run.slice(3, run.indexOf(image));
    const pairs = (flag: string) => flags.flatMap((f, i) => (f === flag ? [flags[i + 1]] : []));
    expect(pairs("--network")).toEqual(["host"]);
    expect(pairs("--restart")).toEqual(["unless-stopped"]);
    // The socket's group, by number (the stub printed nothing, so it is empty here).
    expect(pairs("--group-add")).toEqual([""]);
    expect(pairs("-v").sort()).toEqual(["/var/lib/berth-agent:/var/lib/berth-agent", "/var/run/docker.sock:/var/run/docker.sock"]);
    expect(pairs("-e")).toEqual([`BERTH_ENROLMENT_TOKEN=${TOKEN}`]);
    // The token goes in by environment only: not on the agent's command line, where `ps` shows it.
    expect(run.slice(run.indexOf(image) + 1)).toEqual(["--url", "https://berth.example.internal"]);
  });

  it("print the agent's systemd unit exactly as deploy/systemd/berth-agent.service holds it", () => {
    const file = readFileSync(path.join(root, "deploy/systemd/berth-agent.service"), "utf8");
    expect(file, "deploy/systemd/berth-agent.service and AGENT_SYSTEMD_UNIT (lib/fleet/servers.ts) must be the same text").toBe(AGENT_SYSTEMD_UNIT);
    const { systemd } = enrolmentCommands({ url: "https://berth.example.internal", token: TOKEN, name: "host-1" });
    const heredoc = /cat > \/etc\/systemd\/system\/berth-agent\.service <<'UNIT'\n([\s\S]*?)\nUNIT\n/.exec(systemd);
    expect(heredoc?.[1]).toBe(AGENT_SYSTEMD_UNIT.trimEnd());
    // No per-host value in the unit: URL and token go to the 0600 environment file.
    expect(AGENT_SYSTEMD_UNIT).not.toContain(TOKEN);
    expect(AGENT_SYSTEMD_UNIT).toContain("EnvironmentFile=/etc/berth/agent.env");
  });

  it("write the agent's environment file with mode 0600 and exactly the URL and token, whatever the URL holds", () => {
    for (const url of HOSTILE.slice(0, 4)) {
      const { systemd } = enrolmentCommands({ url, token: TOKEN, name: "host-1" });
      const line = systemd.split("\n").find((l) => l.includes("/etc/berth/agent.env)"))!;
      const target = path.join(work, "agent.env");
      rmSync(target, { force: true });
      const subshell = line.slice(line.indexOf("(umask 077")).replace("/etc/berth/agent.env", target);
      execFileSync("sh", ["-c", subshell], { cwd: work });
      expect(readFileSync(target, "utf8")).toBe(`BERTH_URL=${url}\nBERTH_ENROLMENT_TOKEN=${TOKEN}\n`);
      expect(statSync(target).mode & 0o777).toBe(0o600);
    }
    expect(HOSTILE.map((_, i) => existsSync(path.join(work, `pwned-${i + 1}`)))).toEqual(HOSTILE.map(() => false));
  });
});

describe("the systemd units in deploy/systemd", () => {
  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  it.skipIf(!analyze)("pass systemd-analyze verify with no warning (unknown keys, bad values)", () => {
    for (const unit of ["berth.service", "berth-agent.service"]) {
      const result = spawnSync("systemd-analyze", ["verify", path.join(root, "deploy/systemd", unit)], { encoding: "utf8" });
      // The units name /usr/bin/node; a machine with node elsewhere says so, and nothing else may be said.
      const said = `${result.stdout}${result.stderr}`
        .split("\n")
        .filter((l) => l.trim() && !(l.includes("/usr/bin/node is not executable") && !existsSync("/usr/bin/node")));
      expect(said, unit).toEqual([]);
      if (existsSync("/usr/bin/node")) expect(result.status, unit).toBe(0);
    }
  });
});
