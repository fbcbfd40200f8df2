/// How an uplink joins the lab to the outside: the one name of a mode, from
/// the topology's `mode:` to the `mode` of `patchbay nat --json`.
public enum UplinkMode: String, Hashable, Sendable, CaseIterable, Codable {
  /// NAPT behind an address of its own on the physical network.
  case nat
  /// The physical NIC becomes a switch port.
  case bridge
  /// A host-side interface joins the switch; nothing leaves.
  case hostOnly = "host-only"
}
