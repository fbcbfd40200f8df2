/// Every key a topology file may use, by the mapping it appears in: the loader refuses any other
/// key with "unknown key", and `schema/patchbay.schema.json` must name exactly these.
///
/// One table, read by the loader's sections for their lists of known keys and by the schema test,
/// so the schema cannot gain or miss a key the loader does not also gain or miss.
public enum TopologyKeys {
  /// The keys at the top level.
  public static let topLevel = [
    "name", "switches", "hosts", "vms", "uplinks", "captures", "mirrors", "busy-poll", "log-cap",
    "datapath-threads",
  ]
  /// The keys of one switch (`switches.NAME`).
  public static let `switch` = ["mac-aging", "mac-table-size", "ports"]
  /// The keys that choose a port's kind; a port has at most one (none: a TAP).
  public static let portKinds = ["tap", "attach", "uplink", "peer"]
  /// The keys of one port (`switches.NAME.ports.NAME`).
  public static let port =
    portKinds + [
      "vlan", "trunk", "native-vlan", "native-tagged", "dot1q-tunnel", "dot1q-tunnel-type", "rate",
      "max-macs", "mac-lock", "ip-guard", "dhcp-guard", "protected", "mtu", "offload",
    ]
  /// The keys of a port's `rate:`, shared with `patchbay set ... rate`.
  public static let rate = RateLimitSpec.keys
  /// The keys of one host (`hosts.NAME`).
  public static let host = ["port", "veth", "run", "address", "gateway", "mac"]
  /// The keys of one VM (`vms.NAME`).
  public static let vm = [
    "port", "ports", "kernel", "initrd", "append", "disk", "memory", "cpus", "mac", "accel",
    "qemu-args", "stop-timeout",
  ]
  /// The keys of a VM's long-form `disk:`.
  public static let disk = ["file", "format", "backing"]
  /// The keys of one uplink (`uplinks.NAME`).
  public static let uplink = [
    "mode", "interface", "address", "gateway", "inside", "dhcp", "dns", "forward", "max-sessions",
  ]
  /// The keys of an uplink's `dhcp:`.
  public static let dhcp = ["range", "lease"]
  /// The keys of one capture (`captures.NAME`).
  public static let capture = ["ports", "file", "filter", "snaplen", "ring"]
  /// The keys of a capture's `ring:`.
  public static let ring = ["files", "size"]
  /// The keys of one mirror (`mirrors.NAME`).
  public static let mirror = ["from", "to", "filter"]

  /// Each mapping with fixed keys, by its path in the file: a key, or `*` for any name in a
  /// mapping of names (`switches.*.ports.*` is any port of any switch). The root is `""`.
  public static let byPath: [String: [String]] = [
    "": topLevel,
    "switches.*": `switch`,
    "switches.*.ports.*": port,
    "switches.*.ports.*.rate": rate,
    "hosts.*": host,
    "vms.*": vm,
    "vms.*.disk": disk,
    "uplinks.*": uplink,
    "uplinks.*.dhcp": dhcp,
    "captures.*": capture,
    "captures.*.ring": ring,
    "mirrors.*": mirror,
  ]
}
