"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { Field } from "../field";
import { FormDialog } from "../form-dialog";
import { parsePairs } from "../pairs";
import { EnrolmentCommands, type Enrolment } from "./enrolment-commands";

export function AddServer() {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  return (
    <FormDialog
      trigger="Add server"
      title="Add a server"
      description="Berth issues a one-time enrolment token. The agent on the host trades it for its own credential and from then on connects out to Berth; the host needs no open port."
      submitLabel="Add server"
      busyLabel="Adding…"
      wide
      result={enrolment ? <EnrolmentCommands enrolment={enrolment} /> : undefined}
      onClose={() => {
        if (enrolment) window.location.reload();
      }}
      onSubmit={async (form) => {
        const labels = parsePairs(String(form.get("labels") ?? ""));
        if (typeof labels === "string") return `Labels: ${labels}`;
        const result = await apiRequest<Enrolment>("/api/v1/servers", {
          method: "POST",
          body: { name: String(form.get("name") ?? "").trim(), labels, enrolmentTtlMinutes: Number(form.get("ttl") ?? 60) },
        });
        if (!result.ok) return result.message;
        setEnrolment(result.data);
        return null;
      }}
    >
      <Field label="Name" name="name" required maxLength={63} placeholder="gpu-node-01" hint="Lowercase letters, digits and dashes." />
      <Field label="Labels (optional)" name="labels" placeholder="gpu=a100 zone=dc1" hint="key=value pairs, separated by spaces or commas; deployments select servers by them." />
      <Field label="Token valid for (minutes)" name="ttl" type="number" min={5} max={10080} defaultValue={60} />
    </FormDialog>
  );
}
