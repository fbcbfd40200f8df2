/// An IPv4 address.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The address as a host-order integer (`10.0.0.1` is `0x0A000001`).
  public let rawValue: UInt32

  /// The byte length of an address on the wire.
  public static let byteCount = 4

  /// 0.0.0.0.
  public static let any = IPv4Address(rawValue: 0)

  /// 255.255.255.255.
  public static let broadcast = IPv4Address(rawValue: 0xFFFF_FFFF)

  /// Makes an address from its host-order integer value.
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// Makes an address from four octets.
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }

  /// Parses dotted-quad notation (`192.0.2.1`); no leading zeros, no shorthand.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
        !(part.count > 1 && part.first == "0"), let octet = UInt8(part)
      else { return nil }
      value = value << 8 | UInt32(octet)
    }
    rawValue = value
  }

  /// The four octets, first on the wire first.
  public var octets: [UInt8] {
    [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rawValue >> $0) }
  }

  /// True for 224.0.0.0/4.
  public var isMulticast: Bool { rawValue >> 28 == 0xE }

  /// True for 127.0.0.0/8.
  public var isLoopback: Bool { rawValue >> 24 == 127 }

  /// Dotted-quad notation.
  public var description: String { octets.map(String.init).joined(separator: ".") }

  /// Orders addresses numerically.
  public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
    lhs.rawValue < rhs.rawValue
  }
}

/// An IPv4 address with a prefix length, as written `10.0.10.11/24`.
public struct IPv4CIDR: Hashable, Sendable, CustomStringConvertible {
  /// The address (not necessarily the network address).
  public let address: IPv4Address
  /// The prefix length, 0 through 32.
  public let prefixLength: Int

  /// Makes a CIDR value; nil when `prefixLength` is outside 0...32.
  public init?(address: IPv4Address, prefixLength: Int) {
    guard (0...32).contains(prefixLength) else { return nil }
    self.address = address
    self.prefixLength = prefixLength
  }

  /// Parses `A.B.C.D/N`.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let address = IPv4Address(parts[0]),
      parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), (1...2).contains(parts[1].count),
      !(parts[1].count > 1 && parts[1].first == "0"), let length = Int(parts[1])
    else { return nil }
    self.init(address: address, prefixLength: length)
  }

  /// The network mask as a host-order integer.
  public var mask: UInt32 {
    prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
  }

  /// The network address (host bits cleared).
  public var network: IPv4Address { IPv4Address(rawValue: address.rawValue & mask) }

  /// The directed broadcast address of the subnet.
  public var broadcast: IPv4Address { IPv4Address(rawValue: address.rawValue | ~mask) }

  /// True when `other` lies in this subnet.
  public func contains(_ other: IPv4Address) -> Bool {
    other.rawValue & mask == address.rawValue & mask
  }

  /// `A.B.C.D/N`.
  public var description: String { "\(address)/\(prefixLength)" }
}
