/// Why the switch dropped a frame. Every drop has one, and every reason has a
/// per-port counter (Snabb's txdrop, OVS's coverage counters).
public enum DropReason: Int, CaseIterable, Sendable, CustomStringConvertible {
  /// Shorter than an Ethernet header (14 bytes), or a VLAN tag cut short.
  case runt
  /// The source address is multicast, broadcast or all-zero.
  case invalidSource
  /// Sent to an IEEE 802.1D reserved group address (01:80:c2:00:00:0x), which bridges never forward.
  case reservedGroup
  /// The destination was learned on the port the frame came in on.
  case samePort
  /// The ingress or egress port is down.
  case portDown
  /// A tagged frame (VLAN ID other than 0) on an access port.
  case taggedOnAccessPort
  /// The source address is a static entry of another port.
  case staticConflict
  /// Flooded, but no other port is in the frame's VLAN.
  case noDestination
  /// The egress port's transmit failed (queue full, interface gone).
  case transmitFailed
  /// A tagged frame of a VLAN the trunk does not allow (or a port outside the frame's VLAN).
  case vlanNotAllowed
  /// An untagged frame on a trunk without a native VLAN.
  case untaggedOnTrunk
  /// A frame of a trunk's native VLAN with another tag inside: sent on untagged,
  /// the inner tag would put it in another VLAN (double-tagging VLAN hop).
  case doubleTagged
  /// Over the port's rate limit: refused by the ingress policer, or arriving
  /// at a full egress shaping queue.
  case rateLimited
  /// Sent by a mirror's monitor port, which only receives copies.
  case monitorPort
  /// Longer than the port's MTU allows (a giant), and not a GSO superframe.
  case oversize
  /// A virtio-net header that does not fit its frame: an unknown GSO type, a
  /// GSO frame with no segment size, or a checksum request past the frame's end;
  /// on a port with `offload: false`, also a frame the software segmentation
  /// refuses (its header does not describe its IP and TCP or UDP headers).
  case badOffload
  /// A new source address on a port that already has its `max-macs`.
  case macLimit
  /// A source address other than the one a `mac-lock` port may use.
  case macLocked
  /// An IPv4 source, ARP sender or IPv6 frame an `ip-guard` port may not send.
  case ipGuard
  /// A DHCP server's reply sent from a `dhcp-guard` port.
  case dhcpGuard
  /// From a protected port to another protected port.
  case protectedPort
  /// A frame one datapath thread hands to the thread that owns its port (a
  /// NAT uplink, a rate limit, a capture), whose queue from that thread was full.
  case handoffFull

  /// The reason's name as `status` prints it (kebab-case).
  public var description: String {
    switch self {
    case .runt: return "runt"
    case .invalidSource: return "invalid-source"
    case .reservedGroup: return "reserved-group"
    case .samePort: return "same-port"
    case .portDown: return "port-down"
    case .taggedOnAccessPort: return "tagged-on-access"
    case .staticConflict: return "static-conflict"
    case .noDestination: return "no-destination"
    case .transmitFailed: return "tx-failed"
    case .vlanNotAllowed: return "vlan-not-allowed"
    case .untaggedOnTrunk: return "untagged-on-trunk"
    case .doubleTagged: return "double-tagged"
    case .rateLimited: return "rate-limited"
    case .monitorPort: return "monitor-port"
    case .oversize: return "oversize"
    case .badOffload: return "bad-offload"
    case .macLimit: return "max-macs"
    case .macLocked: return "mac-lock"
    case .ipGuard: return "ip-guard"
    case .dhcpGuard: return "dhcp-guard"
    case .protectedPort: return "protected"
    case .handoffFull: return "handoff-full"
    }
  }
}
