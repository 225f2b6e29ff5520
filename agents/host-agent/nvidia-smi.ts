import { execFile } from "node:child_process";
import type { Gpu } from "@/lib/protocol/agent";

/** The query the agent runs; its CSV output is what parseNvidiaSmi reads. */
export const NVIDIA_SMI_ARGS = ["--query-gpu=index,name,memory.total,memory.used,driver_version,utilization.gpu", "--format=csv,noheader,nounits"];

function numberOrNull(value: string | undefined): number | null {
  const trimmed = (value ?? "").trim();
  // nvidia-smi prints "[N/A]" or "[Not Supported]" where a GPU cannot report a value.
  if (trimmed === "" || trimmed.startsWith("[")) return null;
  const parsed = Number(trimmed);
  return Number.isFinite(parsed) ? parsed : null;
}

export function parseNvidiaSmi(output: string): Gpu[] {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [index, name, total, used, driver, utilization] = line.split(",").map((field) => field.trim());
      return {
        index: numberOrNull(index) ?? 0,
        name: name ?? "unknown",
        memoryTotalMiB: numberOrNull(total),
        memoryUsedMiB: numberOrNull(used),
        driverVersion: driver && !driver.startsWith("[") ? driver : null,
        utilizationPercent: numberOrNull(utilization),
      };
    });
}

/** The host's GPUs, or none when nvidia-smi is absent or fails (no GPU, no driver). */
export function readGpus(timeoutMs = 5000): Promise<Gpu[]> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", NVIDIA_SMI_ARGS, { timeout: timeoutMs }, (error, stdout) => resolve(error ? [] : parseNvidiaSmi(stdout)));
  });
}
