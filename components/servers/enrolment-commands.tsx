"use client";

import { CopyButton } from "../copy-button";

export type Enrolment = {
  server: { name: string; enrolmentExpiresAt: string | null };
  enrolmentToken: string;
  commands: { npx: string; bundle: string; systemd: string; docker: string };
};

const WAYS = [
  ["npx", "With Node.js and this package on the host"],
  ["bundle", "With the single-file agent (needs only node)"],
  ["systemd", "As a systemd service"],
  ["docker", "As a container, with the Docker socket mounted"],
] as const;

/** The one-time token and the ways to start the agent with it; shown once, right after it is issued. */
export function EnrolmentCommands({ enrolment }: { enrolment: Enrolment }) {
  return (
    <div role="status" className="space-y-3 rounded-lg border border-emerald-300 bg-emerald-50 p-4" data-testid="enrolment">
      <p className="text-sm font-medium text-emerald-900">
        Run one of these on the host of <span className="font-mono">{enrolment.server.name}</span>. The token works once and expires at{" "}
        {enrolment.server.enrolmentExpiresAt?.slice(0, 16).replace("T", " ")} UTC; Berth will not show it again.
      </p>
      {WAYS.map(([key, title]) => (
        <div key={key}>
          <p className="mb-1 text-xs font-semibold uppercase tracking-wide text-emerald-900">{title}</p>
          <div className="flex items-start gap-2">
            <pre className="flex-1 overflow-x-auto rounded bg-white px-2 py-1.5 font-mono text-xs" data-testid={`enrol-${key}`}>{enrolment.commands[key]}</pre>
            <CopyButton text={enrolment.commands[key]} label={`Copy the ${key} command`} />
          </div>
        </div>
      ))}
    </div>
  );
}
