/// The 8-bit protocol number of an IPv4 header, or next-header value of an IPv6 header.
///
/// A struct rather than an enum so that numbers Patchbay does not know (say
/// 132, SCTP) survive a round trip unchanged.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The value as carried on the wire.
  public let rawValue: UInt8

  /// Makes a protocol number from its wire value.
  @inline(__always)
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// ICMP for IPv4, 1.
  public static let icmp = IPProtocol(rawValue: 1)
  /// TCP, 6.
  public static let tcp = IPProtocol(rawValue: 6)
  /// UDP, 17.
  public static let udp = IPProtocol(rawValue: 17)
  /// ICMP for IPv6, 58.
  public static let icmpv6 = IPProtocol(rawValue: 58)

  /// `6 (TCP)` style text.
  public var description: String {
    switch self {
    case .icmp: return "1 (ICMP)"
    case .tcp: return "6 (TCP)"
    case .udp: return "17 (UDP)"
    case .icmpv6: return "58 (ICMPv6)"
    default: return String(rawValue)
    }
  }
}
