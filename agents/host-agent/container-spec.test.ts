import { describe, expect, it } from "vitest";
import { CONTAINER_LABELS, type Workload } from "@/lib/protocol/agent";
import { buildContainerSpec, containerEnv, containerName, modelFileName } from "./container-spec";

const base: Workload = {
  replicaId: "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
  deploymentId: "d-1",
  deploymentName: "fraud-model",
  slot: 2,
  specHash: "h1",
  generation: 7,
  modelName: "fraud",
  artifact: { sha256: "a".repeat(64), sizeBytes: 10, fileName: "model.onnx", format: "onnx", downloadPath: "/api/v1/agent/artifacts/x" },
  runtime: {
    name: "onnx",
    image: "berth/onnx:1",
    source: "builtin",
    containerPort: 8080,
    readinessPath: "/v2/health/ready",
    protocol: "open_inference_v2",
    modelMountPath: "/models",
    args: [],
    env: { A: "runtime", SHARED: "runtime" },
    registryAuth: null,
  },
  resources: { cpus: 1.5, memoryBytes: 1 << 30, gpus: 2 },
  env: { SHARED: "workload" },
};
const spec = (w: Workload = base) => buildContainerSpec({ workload: w, artifactPath: "/var/lib/berth-agent/cache/artifacts/" + "a".repeat(64), bindAddress: "10.0.0.5" });

describe("container spec", () => {
  it("names, labels, env, mount, port, limits and GPUs as the protocol says", () => {
    const s = spec();
    expect(s.name).toBe("berth-fraud-model-2-0f8e7d6c");
    expect(s.Labels).toEqual({
      [CONTAINER_LABELS.managed]: "true",
      [CONTAINER_LABELS.deployment]: "d-1",
      [CONTAINER_LABELS.deploymentName]: "fraud-model",
      [CONTAINER_LABELS.replica]: base.replicaId,
      [CONTAINER_LABELS.slot]: "2",
      [CONTAINER_LABELS.specHash]: "h1",
      [CONTAINER_LABELS.sha256]: "a".repeat(64),
    });
    expect(s.Env).toEqual(["A=runtime", "SHARED=workload", "BERTH_MODEL_PATH=/models/model.onnx", "BERTH_MODEL_NAME=fraud", "PORT=8080"]);
    expect(s.Cmd).toBeUndefined(); // the image's own command when the runtime has no args
    expect(s.HostConfig).toMatchObject({
      Binds: [`/var/lib/berth-agent/cache/artifacts/${"a".repeat(64)}:/models/model.onnx:ro`],
      PortBindings: { "8080/tcp": [{ HostIp: "10.0.0.5", HostPort: "" }] },
      NanoCpus: 1_500_000_000,
      Memory: 1 << 30,
      DeviceRequests: [{ Driver: "nvidia", Count: 2, Capabilities: [["gpu"]] }],
      RestartPolicy: { Name: "no" },
    });
  });

  it("leaves out limits and GPUs that are not asked for, and passes args", () => {
    const s = spec({ ...base, resources: { cpus: null, memoryBytes: null, gpus: 0 }, runtime: { ...base.runtime, args: ["--port", "8080"] } });
    expect(s.HostConfig).not.toHaveProperty("NanoCpus");
    expect(s.HostConfig).not.toHaveProperty("Memory");
    expect(s.HostConfig).not.toHaveProperty("DeviceRequests");
    expect(s.Cmd).toEqual(["--port", "8080"]);
  });

  // Hostile input: every value goes to the Engine API as data; nothing can escape the mount or the name.
  it.each([
    ["$(touch /tmp/x)", "berth-touch-tmp-x-0-0f8e7d6c"],
    ["../../etc", "berth-etc-0-0f8e7d6c"],
    ["a b;rm -rf /", "berth-a-b-rm-rf-0-0f8e7d6c"],
    ["", "berth-deployment-0-0f8e7d6c"],
    ["ünïcødé", "berth-n-c-d-0-0f8e7d6c"],
  ])("a deployment named %j makes a safe container name", (deploymentName, expected) => {
    const name = containerName({ deploymentName, slot: 0, replicaId: base.replicaId });
    expect(name).toBe(expected);
    expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });

  it.each(["../../etc/passwd", "/etc/shadow", "dir/model.onnx"])("an artifact file name %j stays one segment under the mount path", (fileName) => {
    const s = spec({ ...base, artifact: { ...base.artifact, fileName } });
    const target = s.HostConfig?.Binds?.[0]?.split(":")[1] ?? "";
    expect(target.startsWith("/models/")).toBe(true);
    expect(target.slice("/models/".length)).not.toContain("/");
  });

  it.each(["..", ".", "", "a:b", "x\0y"])("refuses the artifact file name %j", (fileName) => {
    expect(() => modelFileName(fileName)).toThrow();
  });

  it("keeps shell payloads in env values verbatim and drops keys that are not names", () => {
    const env = containerEnv({ ...base, env: { EVIL: "$(touch /tmp/x); `id`", "BAD KEY": "x", "X=Y": "z" } });
    expect(env).toContain("EVIL=$(touch /tmp/x); `id`");
    expect(env.some((e) => e.startsWith("BAD KEY") || e.startsWith("X=Y"))).toBe(false);
  });

  it("the protocol's own variables win over workload env", () => {
    const env = containerEnv({ ...base, env: { BERTH_MODEL_PATH: "/etc/passwd", PORT: "1" } });
    expect(env).toContain("BERTH_MODEL_PATH=/models/model.onnx");
    expect(env).toContain("PORT=8080");
    expect(env).not.toContain("PORT=1");
  });

  it("refuses a relative mount path or colons in paths", () => {
    expect(() => spec({ ...base, runtime: { ...base.runtime, modelMountPath: "models" } })).toThrow(/absolute/);
    expect(() => buildContainerSpec({ workload: base, artifactPath: "/x:/y", bindAddress: "0.0.0.0" })).toThrow(/':'/);
  });
});
