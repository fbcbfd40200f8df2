/// The 16-bit EtherType of an Ethernet II frame.
///
/// A struct rather than an enum so that values Patchbay does not know (say
/// 0x88b5, the local experimental type) survive a round trip unchanged.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The value as carried on the wire.
  public let rawValue: UInt16

  /// Makes an EtherType from its wire value.
  @inlinable @inline(__always)
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  // Computed and inlinable rather than stored: a stored `static let` is read
  // across modules through an addressor call (and a once-check) per use, and
  // the switch reads `.vlan` on every frame.

  /// IPv4, 0x0800.
  @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
  /// ARP, 0x0806.
  @inlinable public static var arp: EtherType { EtherType(rawValue: 0x0806) }
  /// IPv6, 0x86dd.
  @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }
  /// IEEE 802.1Q customer VLAN tag, 0x8100.
  @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
  /// IEEE 802.1ad service VLAN tag (QinQ outer tag), 0x88a8.
  @inlinable public static var serviceVLAN: EtherType { EtherType(rawValue: 0x88A8) }

  /// True for the tag protocol identifiers Patchbay recognises (0x8100, 0x88a8).
  @inlinable @inline(__always)
  public var isVLANTag: Bool { rawValue == 0x8100 || rawValue == 0x88A8 }

  /// `0x0800 (IPv4)` style text.
  public var description: String {
    let hex = String(rawValue, radix: 16)
    let padded = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    switch self {
    case .ipv4: return "0x\(padded) (IPv4)"
    case .arp: return "0x\(padded) (ARP)"
    case .ipv6: return "0x\(padded) (IPv6)"
    case .vlan: return "0x\(padded) (802.1Q)"
    case .serviceVLAN: return "0x\(padded) (802.1ad)"
    default: return "0x\(padded)"
    }
  }
}
