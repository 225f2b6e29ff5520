import os from "node:os";

/**
 * The address the control plane's gateway uses to reach this host's
 * containers: --advertise-address, else BERTH_AGENT_ADVERTISE_ADDRESS, else
 * the first non-internal IPv4 address (Docker bridges last), else 127.0.0.1.
 */
export function pickAdvertiseAddress(
  explicit: string | undefined,
  env: Record<string, string | undefined> = process.env,
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): string {
  if (explicit?.trim()) return explicit.trim();
  const fromEnv = env.BERTH_AGENT_ADVERTISE_ADDRESS?.trim();
  if (fromEnv) return fromEnv;
  // Docker's own bridges are not reachable from other hosts.
  const candidates = Object.entries(interfaces).sort(([a], [b]) => Number(/^(docker|br-|veth)/.test(a)) - Number(/^(docker|br-|veth)/.test(b)));
  for (const [, infos] of candidates) {
    const v4 = (infos ?? []).find((info) => info.family === "IPv4" && !info.internal);
    if (v4) return v4.address;
  }
  return "127.0.0.1";
}

/** `http://host:port`, with an IPv6 literal in brackets. */
export function endpointUrl(address: string, port: number): string {
  return `http://${address.includes(":") && !address.startsWith("[") ? `[${address}]` : address}:${port}`;
}

/** Where the agent itself reaches a published port: loopback when bound to every address. */
export function probeHost(bindAddress: string): string {
  if (bindAddress === "0.0.0.0" || bindAddress === "") return "127.0.0.1";
  if (bindAddress === "::") return "[::1]";
  return bindAddress.includes(":") && !bindAddress.startsWith("[") ? `[${bindAddress}]` : bindAddress;
}
