import type os from "node:os";
import { describe, expect, it } from "vitest";
import { endpointUrl, pickAdvertiseAddress, probeHost } from "./address";

const iface = (address: string, internal = false, family: "IPv4" | "IPv6" = "IPv4") => ({ address, internal, family, netmask: "", mac: "", cidr: null }) as os.NetworkInterfaceInfo;

describe("advertise address", () => {
  it("takes the flag first, then the environment, then the first non-internal IPv4 not on a Docker bridge", () => {
    const interfaces = { lo: [iface("127.0.0.1", true)], docker0: [iface("172.17.0.1")], eth0: [iface("fe80::1", false, "IPv6"), iface("10.1.2.3")] };
    expect(pickAdvertiseAddress("192.168.1.9", { BERTH_AGENT_ADVERTISE_ADDRESS: "10.9.9.9" }, interfaces)).toBe("192.168.1.9");
    expect(pickAdvertiseAddress(undefined, { BERTH_AGENT_ADVERTISE_ADDRESS: "10.9.9.9" }, interfaces)).toBe("10.9.9.9");
    expect(pickAdvertiseAddress(undefined, {}, interfaces)).toBe("10.1.2.3");
    expect(pickAdvertiseAddress(undefined, {}, { lo: [iface("127.0.0.1", true)] })).toBe("127.0.0.1");
  });

  it("puts IPv6 literals in brackets and probes loopback when bound to every address", () => {
    expect(endpointUrl("10.0.0.5", 49153)).toBe("http://10.0.0.5:49153");
    expect(endpointUrl("fd00::5", 49153)).toBe("http://[fd00::5]:49153");
    expect(probeHost("0.0.0.0")).toBe("127.0.0.1");
    expect(probeHost("10.0.0.5")).toBe("10.0.0.5");
  });
});
