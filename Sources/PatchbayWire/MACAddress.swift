/// A 48-bit IEEE 802 MAC address.
///
/// Stored in the low 48 bits of a `UInt64` in network byte order (the first
/// octet is the most significant), so that `(VLAN, MAC)` packs into one word
/// for the MAC table.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The address in the low 48 bits, first octet most significant.
  public let rawValue: UInt64

  /// The byte length of an address on the wire.
  public static let byteCount = 6

  /// ff:ff:ff:ff:ff:ff.
  public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)

  /// 00:00:00:00:00:00.
  public static let zero = MACAddress(rawValue: 0)

  /// Makes an address from the low 48 bits of `rawValue` (higher bits are ignored).
  @inlinable @inline(__always)
  public init(rawValue: UInt64) {
    self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
  }

  /// Makes an address from six octets.
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
    var value: UInt64 = 0
    for octet in [a, b, c, d, e, f] { value = value << 8 | UInt64(octet) }
    self.init(rawValue: value)
  }

  /// Reads six octets at `offset` of `bytes`; the caller guarantees they exist.
  @inlinable @inline(__always)
  public init(unchecked bytes: UnsafeRawBufferPointer, at offset: Int) {
    let high = UInt64(bytes.bigEndianUInt16(at: offset))
    let low = UInt64(bytes.bigEndianUInt32(at: offset + 2))
    self.rawValue = high << 32 | low
  }

  /// Reads an address from the first six bytes of `bytes`, or nil if there are fewer.
  public init?(bytes: some Collection<UInt8>) {
    guard bytes.count >= MACAddress.byteCount else { return nil }
    var value: UInt64 = 0
    for octet in bytes.prefix(MACAddress.byteCount) { value = value << 8 | UInt64(octet) }
    self.init(rawValue: value)
  }

  /// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators), case-insensitive.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let groups =
      parts.count == 6 ? parts : text.split(separator: "-", omittingEmptySubsequences: false)
    guard groups.count == 6 else { return nil }
    var value: UInt64 = 0
    for group in groups {
      // `UInt8(_:radix:)` alone would take a sign: "+f" and "-0" are not octets.
      guard (1...2).contains(group.count), group.allSatisfy({ $0.isASCII && $0.isHexDigit }),
        let octet = UInt8(group, radix: 16)
      else { return nil }
      value = value << 8 | UInt64(octet)
    }
    self.init(rawValue: value)
  }

  /// The six octets, first on the wire first.
  public var octets: [UInt8] {
    (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * $0)) }
  }

  /// Writes the six octets at `offset` of `bytes`; the caller guarantees room.
  @inline(__always)
  public func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
    bytes.storeBigEndian(UInt16(truncatingIfNeeded: rawValue >> 32), at: offset)
    bytes.storeBigEndian(UInt32(truncatingIfNeeded: rawValue), at: offset + 2)
  }

  /// True for ff:ff:ff:ff:ff:ff.
  @inlinable @inline(__always)
  public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }

  /// True when the group bit (least significant bit of the first octet) is set; includes broadcast.
  @inlinable @inline(__always)
  public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

  /// True for an individual (non-group) address.
  @inlinable @inline(__always)
  public var isUnicast: Bool { !isMulticast }

  /// True for the all-zero address.
  @inlinable @inline(__always)
  public var isZero: Bool { rawValue == 0 }

  /// True when the locally-administered bit is set.
  public var isLocallyAdministered: Bool { rawValue & 0x0200_0000_0000 != 0 }

  /// True for a unicast, non-zero address: the only kind a frame may carry as its source.
  @inlinable @inline(__always)
  public var isValidSource: Bool { !isMulticast && !isZero }

  /// True for 01:80:c2:00:00:00 through 01:80:c2:00:00:0f, the IEEE 802.1D
  /// reserved group addresses (STP, LACP, 802.1X, LLDP) that bridges must not forward.
  @inlinable @inline(__always)
  public var isReservedGroup: Bool { rawValue & ~0xF == 0x0180_C200_0000 }

  /// `aa:bb:cc:dd:ee:ff`, lower case.
  public var description: String {
    let hex = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(17)
    for (index, octet) in octets.enumerated() {
      if index > 0 { text.append(UInt8(ascii: ":")) }
      text.append(hex[Int(octet >> 4)])
      text.append(hex[Int(octet & 0xF)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// Orders addresses numerically.
  public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}
