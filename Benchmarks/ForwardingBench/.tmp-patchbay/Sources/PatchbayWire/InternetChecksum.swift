// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Safety: `sum` reads whole words only while `offset + size <= bytes.count`
// and single bytes only below `bytes.count`, so it never reads past the
// buffer it is given. Nothing here allocates.

/// The RFC 1071 one's-complement checksum used by IPv4, ICMP, UDP and TCP.
///
/// A sum is carried as a `UInt32` holding a folded 16-bit one's-complement
/// sum of big-endian words. Sums of pieces that start at even offsets of a
/// message combine with `sum(_:into:)` or `combine(_:_:)`; `finish` turns a
/// sum into the checksum field's value.
public enum InternetChecksum {
  /// The one's-complement sum of `bytes` as big-endian 16-bit words (an odd
  /// last byte is padded with zero), added to `partial`, folded to 16 bits.
  public static func sum(_ bytes: UnsafeRawBufferPointer, into partial: UInt32 = 0) -> UInt32 {
    // The one's-complement sum does not depend on byte order (RFC 1071 §2B):
    // sum native-order words and swap once at the end.
    var accumulator: UInt64 = 0
    var offset = 0
    let count = bytes.count
    while offset + 8 <= count {
      let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
      let (total, overflow) = accumulator.addingReportingOverflow(word)
      accumulator = total &+ (overflow ? 1 : 0)
      offset += 8
    }
    if offset + 4 <= count {
      accumulator = add(
        accumulator, UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
      offset += 4
    }
    if offset + 2 <= count {
      accumulator = add(
        accumulator, UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
      offset += 2
    }
    if offset < count {
      // A lone last byte is the high byte of a big-endian word padded with zero.
      accumulator = add(accumulator, UInt64((UInt16(bytes[offset]) << 8).bigEndian))
    }
    let native = fold(accumulator)
    return combine(partial, UInt32(UInt16(bigEndian: native)))
  }

  /// The one's-complement sum of two sums, folded to 16 bits.
  @inline(__always)
  public static func combine(_ a: UInt32, _ b: UInt32) -> UInt32 {
    UInt32(fold(UInt64(a) + UInt64(b)))
  }

  /// The checksum field's value for a sum: the complement of the folded sum.
  @inline(__always)
  public static func finish(_ sum: UInt32) -> UInt16 {
    ~fold(UInt64(sum))
  }

  /// The checksum of `bytes` alone: `finish(sum(bytes))`.
  @inline(__always)
  public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
    finish(sum(bytes))
  }

  /// The sum of the IPv4 pseudo-header (RFC 768, RFC 793) for a transport checksum.
  public static func pseudoHeaderSum(
    source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, length: UInt16
  ) -> UInt32 {
    var total = UInt64(source.rawValue >> 16) + UInt64(source.rawValue & 0xFFFF)
    total += UInt64(destination.rawValue >> 16) + UInt64(destination.rawValue & 0xFFFF)
    total += UInt64(`protocol`.rawValue) + UInt64(length)
    return UInt32(fold(total))
  }

  /// The sum of the IPv6 pseudo-header (RFC 8200 §8.1) for a transport checksum.
  public static func pseudoHeaderSum(
    source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, length: UInt32
  ) -> UInt32 {
    var total = wordSum(source.rawValue) + wordSum(destination.rawValue)
    total += UInt64(length >> 16) + UInt64(length & 0xFFFF) + UInt64(nextHeader.rawValue)
    return UInt32(fold(total))
  }

  /// The checksum after a 16-bit field changes from `old` to `new` (RFC 1624 eqn. 3).
  @inline(__always)
  public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
    ~fold(UInt64(~checksum) + UInt64(~old) + UInt64(new))
  }

  /// The checksum after a 32-bit field changes from `old` to `new` (RFC 1624 eqn. 3).
  @inline(__always)
  public static func update(_ checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
    let removed = UInt64(~old >> 16) + UInt64(~old & 0xFFFF)
    let added = UInt64(new >> 16) + UInt64(new & 0xFFFF)
    return ~fold(UInt64(~checksum) + removed + added)
  }

  /// Adds with an end-around carry, as one's-complement addition does.
  @inline(__always)
  static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (total, overflow) = a.addingReportingOverflow(b)
    return total &+ (overflow ? 1 : 0)
  }

  /// Folds a 64-bit one's-complement sum to 16 bits.
  @inline(__always)
  static func fold(_ value: UInt64) -> UInt16 {
    var folded = (value >> 32) + (value & 0xFFFF_FFFF)
    folded = (folded >> 32) + (folded & 0xFFFF_FFFF)
    folded = (folded >> 16) + (folded & 0xFFFF)
    folded = (folded >> 16) + (folded & 0xFFFF)
    return UInt16(truncatingIfNeeded: folded)
  }

  /// The plain sum of the eight 16-bit words of a 128-bit value.
  @inline(__always)
  static func wordSum(_ value: UInt128) -> UInt64 {
    var total: UInt64 = 0
    var rest = value
    for _ in 0..<8 {
      total += UInt64(truncatingIfNeeded: rest & 0xFFFF)
      rest >>= 16
    }
    return total
  }
}

/// The IP addresses a TCP or UDP checksum covers, taken from the enclosing IP header.
public enum IPPseudoHeader: Hashable, Sendable {
  /// The source and destination of an IPv4 header.
  case ipv4(source: IPv4Address, destination: IPv4Address)
  /// The source and destination of an IPv6 header.
  case ipv6(source: IPv6Address, destination: IPv6Address)

  /// The pseudo-header's sum for an upper-layer message of `length` bytes
  /// (kept to the field's width: 16 bits for IPv4, 32 for IPv6).
  @inline(__always)
  public func sum(protocol: IPProtocol, length: Int) -> UInt32 {
    switch self {
    case .ipv4(let source, let destination):
      return InternetChecksum.pseudoHeaderSum(
        source: source, destination: destination, protocol: `protocol`,
        length: UInt16(truncatingIfNeeded: length))
    case .ipv6(let source, let destination):
      return InternetChecksum.pseudoHeaderSum(
        source: source, destination: destination, nextHeader: `protocol`,
        length: UInt32(truncatingIfNeeded: length))
    }
  }
}
