/// Why the NAT router dropped a frame: every drop has one and a counter.
public enum NATDropReason: Int, CaseIterable, Sendable, CustomStringConvertible {
  /// From outside, matching no session and no port forward.
  case unsolicited
  /// An IP fragment: the NAT translates whole datagrams only.
  case fragment
  /// The TTL ran out at the router (an ICMP time-exceeded goes back).
  case ttlExpired
  /// The next hop never answered ARP, or too many frames waited for it.
  case unresolved
  /// A header cut short or inconsistent.
  case malformed
  /// A new flow found no free outside port.
  case portsExhausted
  /// A protocol the NAT does not translate (only TCP, UDP and ICMP are).
  case unsupportedProtocol
  /// The NAT has no outside address yet (its DHCP client is still asking).
  case noOutsideAddress
  /// A TCP segment other than SYN opening a flow through a port forward, or a reset with no session.
  case noSession

  /// The reason's name as `patchbay nat` prints it.
  public var description: String {
    switch self {
    case .unsolicited: return "unsolicited"
    case .fragment: return "fragment"
    case .ttlExpired: return "ttl-expired"
    case .unresolved: return "unresolved"
    case .malformed: return "malformed"
    case .portsExhausted: return "ports-exhausted"
    case .unsupportedProtocol: return "unsupported-protocol"
    case .noOutsideAddress: return "no-outside-address"
    case .noSession: return "no-session"
    }
  }
}

/// What the router counts besides its session table.
public struct UplinkRouterStatistics: Sendable, Hashable {
  /// Frames translated on their way out.
  public var translatedOut: UInt64 = 0
  /// Frames translated on their way in.
  public var translatedIn: UInt64 = 0
  /// ICMP errors from outside translated back to the inside host they concern.
  public var icmpErrorsTranslated: UInt64 = 0
  /// Frames the router answered itself (ARP, ping, DHCP).
  public var answered: UInt64 = 0
  /// Frames for someone else, or of no interest (IPv6, other hosts' ARP): not drops.
  public var ignored: UInt64 = 0
  /// Drops by reason, indexed by `NATDropReason.rawValue`.
  public var drops: [UInt64] = Array(repeating: 0, count: NATDropReason.allCases.count)

  /// All zero.
  public init() {}

  /// The drops counted for `reason`.
  public subscript(reason: NATDropReason) -> UInt64 { drops[reason.rawValue] }
}

/// The router's two neighbour tables: how full each is and how many learned
/// entries gave way to newer ones (the tables are bounded; see `NeighbourTable`).
public struct NeighbourStatistics: Sendable, Hashable {
  /// Learned entries on the lab's side.
  public var inside: Int
  /// Learned entries on the physical network's side.
  public var outside: Int
  /// Entries evicted from the lab's side.
  public var insideEvicted: Int
  /// Entries evicted from the physical network's side.
  public var outsideEvicted: Int
  /// The bound of each table.
  public var capacity: Int

  /// Makes a value.
  public init(inside: Int, outside: Int, insideEvicted: Int, outsideEvicted: Int, capacity: Int) {
    self.inside = inside
    self.outside = outside
    self.insideEvicted = insideEvicted
    self.outsideEvicted = outsideEvicted
    self.capacity = capacity
  }
}
