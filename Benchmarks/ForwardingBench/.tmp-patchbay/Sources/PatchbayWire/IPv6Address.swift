/// An IPv6 address.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The address as a host-order integer (`::1` is `1`), first octet most significant.
  public let rawValue: UInt128

  /// The byte length of an address on the wire.
  public static let byteCount = 16

  /// `::`, the unspecified address.
  public static let unspecified = IPv6Address(rawValue: 0)

  /// `::1`, the loopback address.
  public static let loopback = IPv6Address(rawValue: 1)

  /// Makes an address from its host-order integer value.
  @inline(__always)
  public init(rawValue: UInt128) { self.rawValue = rawValue }

  /// Makes an address from its eight 16-bit groups, first group first.
  public init(
    _ a: UInt16, _ b: UInt16, _ c: UInt16, _ d: UInt16,
    _ e: UInt16, _ f: UInt16, _ g: UInt16, _ h: UInt16
  ) {
    var value: UInt128 = 0
    for group in [a, b, c, d, e, f, g, h] { value = value << 16 | UInt128(group) }
    rawValue = value
  }

  /// The IPv4-mapped address `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2) for `address`.
  public init(ipv4Mapped address: IPv4Address) {
    rawValue = 0xFFFF << 32 | UInt128(address.rawValue)
  }

  /// Reads 16 octets at `offset` of `bytes`; the caller guarantees they exist.
  @inline(__always)
  init(unchecked bytes: UnsafeRawBufferPointer, at offset: Int) {
    let high = UInt128(bytes.bigEndianUInt64(at: offset))
    let low = UInt128(bytes.bigEndianUInt64(at: offset + 8))
    rawValue = high << 64 | low
  }

  /// Writes the 16 octets at `offset` of `bytes`; the caller guarantees room.
  @inline(__always)
  func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
    bytes.storeBigEndian(UInt64(truncatingIfNeeded: rawValue >> 64), at: offset)
    bytes.storeBigEndian(UInt64(truncatingIfNeeded: rawValue), at: offset + 8)
  }

  /// Parses RFC 4291 text: eight groups of one to four hex digits, at most one
  /// `::` for a run of zero groups, optionally a dotted-quad IPv4 tail; no zone.
  public init?(_ text: some StringProtocol) {
    let utf8 = Array(text.utf8)
    var head: ArraySlice<UInt8> = utf8[...]
    var tail: ArraySlice<UInt8>? = nil
    if let gap = IPv6Address.firstDoubleColon(in: utf8[...]) {
      head = utf8[..<gap]
      tail = utf8[(gap + 2)...]
    }
    var groups: [UInt16] = []
    groups.reserveCapacity(8)
    // The dotted-quad tail may only end the last written part.
    guard IPv6Address.parseGroups(head, allowIPv4Tail: tail == nil, into: &groups) else {
      return nil
    }
    let headCount = groups.count
    if let tail {
      guard IPv6Address.parseGroups(tail, allowIPv4Tail: true, into: &groups),
        groups.count <= 7
      else { return nil }
      let zeros = [UInt16](repeating: 0, count: 8 - groups.count)
      groups.insert(contentsOf: zeros, at: headCount)
    }
    guard groups.count == 8 else { return nil }
    var value: UInt128 = 0
    for group in groups { value = value << 16 | UInt128(group) }
    rawValue = value
  }

  /// The offset of the first `::` in `text`, or nil; also nil when there are two.
  private static func firstDoubleColon(in text: ArraySlice<UInt8>) -> Int? {
    let colon = UInt8(ascii: ":")
    var index = text.startIndex
    while index + 1 < text.endIndex {
      if text[index] == colon, text[index + 1] == colon { return index }
      index += 1
    }
    return nil
  }

  /// Appends the groups of a colon-separated part (empty for nothing); false on bad syntax.
  private static func parseGroups(
    _ part: ArraySlice<UInt8>, allowIPv4Tail: Bool, into groups: inout [UInt16]
  ) -> Bool {
    if part.isEmpty { return true }
    let pieces = part.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
    for (index, piece) in pieces.enumerated() {
      if index == pieces.count - 1, allowIPv4Tail, piece.contains(UInt8(ascii: ".")) {
        guard let v4 = IPv4Address(String(decoding: piece, as: UTF8.self)) else { return false }
        groups.append(UInt16(truncatingIfNeeded: v4.rawValue >> 16))
        groups.append(UInt16(truncatingIfNeeded: v4.rawValue))
        continue
      }
      guard (1...4).contains(piece.count), groups.count < 8 else { return false }
      var group: UInt16 = 0
      for character in piece {
        guard let digit = hexDigitValue(character) else { return false }
        group = group << 4 | UInt16(digit)
      }
      groups.append(group)
    }
    return groups.count <= 8
  }

  /// The value of an ASCII hex digit, or nil.
  private static func hexDigitValue(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
    default: return nil
    }
  }

  /// The eight 16-bit groups, first group first.
  public var groups: [UInt16] {
    (0..<8).map { UInt16(truncatingIfNeeded: rawValue >> UInt128(112 - 16 * $0)) }
  }

  /// The sixteen octets, first on the wire first.
  public var octets: [UInt8] {
    (0..<16).map { UInt8(truncatingIfNeeded: rawValue >> UInt128(120 - 8 * $0)) }
  }

  /// True for `::`.
  public var isUnspecified: Bool { rawValue == 0 }

  /// True for `::1`.
  public var isLoopback: Bool { rawValue == 1 }

  /// True for ff00::/8.
  public var isMulticast: Bool { rawValue >> 120 == 0xFF }

  /// True for fe80::/10.
  public var isLinkLocal: Bool { rawValue >> 118 == 0xFE80 >> 6 }

  /// The embedded IPv4 address of an IPv4-mapped address (`::ffff:0:0/96`), else nil.
  public var ipv4Mapped: IPv4Address? {
    guard rawValue >> 32 == 0xFFFF else { return nil }
    return IPv4Address(rawValue: UInt32(truncatingIfNeeded: rawValue))
  }

  /// RFC 5952 text: lower case, no leading zeros, the longest run of two or more
  /// zero groups (the first on a tie) as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`.
  public var description: String {
    if let v4 = ipv4Mapped { return "::ffff:\(v4)" }
    let groups = self.groups
    var bestStart = -1
    var bestLength = 1
    var runStart = -1
    for index in 0...8 {
      if index < 8, groups[index] == 0 {
        if runStart < 0 { runStart = index }
      } else if runStart >= 0 {
        if index - runStart > bestLength {
          bestStart = runStart
          bestLength = index - runStart
        }
        runStart = -1
      }
    }
    let hex = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(39)
    var index = 0
    while index < 8 {
      if index == bestStart {
        text.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: ":")])
        index += bestLength
        continue
      }
      if index > 0, text.last != UInt8(ascii: ":") { text.append(UInt8(ascii: ":")) }
      let group = groups[index]
      var started = false
      for shift in stride(from: 12, through: 0, by: -4) {
        let digit = Int(group >> UInt16(shift) & 0xF)
        if digit != 0 || started || shift == 0 {
          text.append(hex[digit])
          started = true
        }
      }
      index += 1
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// Orders addresses numerically.
  public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
    lhs.rawValue < rhs.rawValue
  }
}
