// IPv4 (RFC 791).
//
// Safety: `IPv4Packet(validating:)` proves 20 <= headerLength <= totalLength
// <= bytes.count, so the fixed fields (below 20), the options (below
// headerLength) and the payload (below totalLength) all lie in the buffer.
// `MutableIPv4Packet` runs the same check; `IPv4Header.emit(into:payloadLength:)`
// checks for 20 bytes of room before writing.

/// A read-only, checked view over an IPv4 packet.
///
/// Valid only while the buffer it was made from is. The buffer may run past the
/// packet's total length (Ethernet padding): `payload` stops at the total length.
public struct IPv4Packet {
  /// Field offsets from the start of the header.
  public enum Offset {
    /// Version (high nibble) and header length in 32-bit words (low nibble).
    public static let versionAndHeaderLength = 0
    /// DSCP (high six bits) and ECN (low two bits).
    public static let dscpAndECN = 1
    /// Total length of header and payload, in bytes.
    public static let totalLength = 2
    /// Identification, for reassembly.
    public static let identification = 4
    /// Flags (reserved, DF, MF: the high three bits) and fragment offset (the low 13).
    public static let flagsAndFragmentOffset = 6
    /// Time to live.
    public static let timeToLive = 8
    /// Protocol of the payload.
    public static let `protocol` = 9
    /// Header checksum.
    public static let headerChecksum = 10
    /// Source address.
    public static let source = 12
    /// Destination address.
    public static let destination = 16
    /// Options, when the header is longer than 20 bytes.
    public static let options = 20
  }

  /// The length of a header without options.
  public static let minimumHeaderLength = 20
  /// The don't-fragment flag in the flags-and-fragment-offset field.
  static let dontFragmentBit: UInt16 = 0x4000
  /// The more-fragments flag in the flags-and-fragment-offset field.
  static let moreFragmentsBit: UInt16 = 0x2000
  /// The fragment offset bits of the flags-and-fragment-offset field.
  static let fragmentOffsetMask: UInt16 = 0x1FFF

  /// The buffer's bytes, from the header to the end of the buffer (possibly past `totalLength`).
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold an IPv4 header and the whole packet it declares.
  ///
  /// Throws `.truncated` for fewer than 20 bytes, `.malformed` for a version
  /// other than 4, and `.badLength` for a header length below 20 or past the
  /// buffer, or a total length below the header length or past the buffer.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
    let first = bytes[Offset.versionAndHeaderLength]
    guard first >> 4 == 4 else { throw .malformed }
    let headerLength = Int(first & 0x0F) * 4
    let totalLength = Int(bytes.bigEndianUInt16(at: Offset.totalLength))
    guard headerLength >= IPv4Packet.minimumHeaderLength, headerLength <= bytes.count,
      totalLength >= headerLength, totalLength <= bytes.count
    else { throw .badLength }
    self.bytes = bytes
  }

  /// The version, always 4.
  @inline(__always)
  public var version: UInt8 { bytes[Offset.versionAndHeaderLength] >> 4 }

  /// The header length in bytes, options included (20 through 60).
  @inline(__always)
  public var headerLength: Int { Int(bytes[Offset.versionAndHeaderLength] & 0x0F) * 4 }

  /// The differentiated services code point, 0 through 63.
  @inline(__always)
  public var dscp: UInt8 { bytes[Offset.dscpAndECN] >> 2 }

  /// The explicit congestion notification bits, 0 through 3.
  @inline(__always)
  public var ecn: UInt8 { bytes[Offset.dscpAndECN] & 0x03 }

  /// The total length of header and payload, in bytes.
  @inline(__always)
  public var totalLength: Int { Int(bytes.bigEndianUInt16(at: Offset.totalLength)) }

  /// The identification field.
  @inline(__always)
  public var identification: UInt16 { bytes.bigEndianUInt16(at: Offset.identification) }

  /// The don't-fragment (DF) flag.
  @inline(__always)
  public var dontFragment: Bool {
    bytes.bigEndianUInt16(at: Offset.flagsAndFragmentOffset) & IPv4Packet.dontFragmentBit != 0
  }

  /// The more-fragments (MF) flag.
  @inline(__always)
  public var moreFragments: Bool {
    bytes.bigEndianUInt16(at: Offset.flagsAndFragmentOffset) & IPv4Packet.moreFragmentsBit != 0
  }

  /// The fragment offset in units of 8 bytes, as on the wire.
  @inline(__always)
  public var fragmentOffset: UInt16 {
    bytes.bigEndianUInt16(at: Offset.flagsAndFragmentOffset) & IPv4Packet.fragmentOffsetMask
  }

  /// True for any fragment of a fragmented datagram: MF set or a non-zero offset.
  @inline(__always)
  public var isFragment: Bool {
    bytes.bigEndianUInt16(at: Offset.flagsAndFragmentOffset)
      & (IPv4Packet.moreFragmentsBit | IPv4Packet.fragmentOffsetMask) != 0
  }

  /// The time to live.
  @inline(__always)
  public var timeToLive: UInt8 { bytes[Offset.timeToLive] }

  /// The protocol of the payload.
  @inline(__always)
  public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes[Offset.protocol]) }

  /// The header checksum as carried.
  @inline(__always)
  public var headerChecksum: UInt16 { bytes.bigEndianUInt16(at: Offset.headerChecksum) }

  /// The source address.
  @inline(__always)
  public var source: IPv4Address { IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.source)) }

  /// The destination address.
  @inline(__always)
  public var destination: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.destination))
  }

  /// The header, options included.
  @inline(__always)
  public var header: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[..<headerLength])
  }

  /// The options bytes (empty for a 20-byte header).
  @inline(__always)
  public var options: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[Offset.options..<headerLength])
  }

  /// The payload: from the end of the header to the total length (padding excluded).
  @inline(__always)
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[headerLength..<totalLength])
  }

  /// True when the header checksum is correct.
  @inline(__always)
  public var isHeaderChecksumValid: Bool { InternetChecksum.checksum(header) == 0 }

  /// The pseudo-header a TCP or UDP checksum in the payload covers.
  @inline(__always)
  public var pseudoHeader: IPPseudoHeader { .ipv4(source: source, destination: destination) }
}

/// A writable, checked view over an IPv4 packet, for rewriting headers in place.
///
/// Checked like `IPv4Packet`. The setters do not touch the checksum: call
/// `updateHeaderChecksum()` after the last one, or adjust it incrementally.
public struct MutableIPv4Packet {
  /// The buffer's bytes, from the header to the end of the buffer.
  public let bytes: UnsafeMutableRawBufferPointer

  /// Checks `bytes` exactly as `IPv4Packet(validating:)` does.
  @inline(__always)
  public init(validating bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
    _ = try IPv4Packet(validating: UnsafeRawBufferPointer(bytes))
    self.bytes = bytes
  }

  /// A read-only view of the same packet.
  @inline(__always)
  public var packet: IPv4Packet { IPv4Packet(checked: UnsafeRawBufferPointer(bytes)) }

  /// Sets the source address.
  @inline(__always)
  public func setSource(_ address: IPv4Address) {
    bytes.storeBigEndian(address.rawValue, at: IPv4Packet.Offset.source)
  }

  /// Sets the destination address.
  @inline(__always)
  public func setDestination(_ address: IPv4Address) {
    bytes.storeBigEndian(address.rawValue, at: IPv4Packet.Offset.destination)
  }

  /// Sets the time to live.
  @inline(__always)
  public func setTimeToLive(_ ttl: UInt8) {
    bytes[IPv4Packet.Offset.timeToLive] = ttl
  }

  /// Sets the header checksum field to `checksum`.
  @inline(__always)
  public func setHeaderChecksum(_ checksum: UInt16) {
    bytes.storeBigEndian(checksum, at: IPv4Packet.Offset.headerChecksum)
  }

  /// Recomputes the header checksum over the whole header, options included.
  @inline(__always)
  public func updateHeaderChecksum() {
    setHeaderChecksum(0)
    setHeaderChecksum(InternetChecksum.checksum(packet.header))
  }
}

extension IPv4Packet {
  /// Wraps bytes that an earlier `init(validating:)` has already checked.
  @inline(__always)
  init(checked bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
}

/// The parsed value of an IPv4 header without options, for building packets and comparing them.
public struct IPv4Header: Hashable, Sendable {
  /// The differentiated services code point, 0 through 63.
  public var dscp: UInt8
  /// The explicit congestion notification bits, 0 through 3.
  public var ecn: UInt8
  /// The identification field.
  public var identification: UInt16
  /// The don't-fragment (DF) flag.
  public var dontFragment: Bool
  /// The more-fragments (MF) flag.
  public var moreFragments: Bool
  /// The fragment offset in units of 8 bytes, 0 through 8191.
  public var fragmentOffset: UInt16
  /// The time to live.
  public var timeToLive: UInt8
  /// The protocol of the payload.
  public var `protocol`: IPProtocol
  /// The source address.
  public var source: IPv4Address
  /// The destination address.
  public var destination: IPv4Address

  /// Makes a header value; the defaults suit an unfragmented datagram.
  public init(
    dscp: UInt8 = 0, ecn: UInt8 = 0, identification: UInt16 = 0, dontFragment: Bool = true,
    moreFragments: Bool = false, fragmentOffset: UInt16 = 0, timeToLive: UInt8 = 64,
    protocol: IPProtocol, source: IPv4Address, destination: IPv4Address
  ) {
    self.dscp = dscp
    self.ecn = ecn
    self.identification = identification
    self.dontFragment = dontFragment
    self.moreFragments = moreFragments
    self.fragmentOffset = fragmentOffset
    self.timeToLive = timeToLive
    self.protocol = `protocol`
    self.source = source
    self.destination = destination
  }

  /// Reads the value of a checked packet; options, if any, are left out.
  public init(_ packet: IPv4Packet) {
    self.init(
      dscp: packet.dscp, ecn: packet.ecn, identification: packet.identification,
      dontFragment: packet.dontFragment, moreFragments: packet.moreFragments,
      fragmentOffset: packet.fragmentOffset, timeToLive: packet.timeToLive,
      protocol: packet.protocol, source: packet.source, destination: packet.destination)
  }

  /// The header's length on the wire.
  public static let byteCount = IPv4Packet.minimumHeaderLength

  /// Writes the 20-byte header, with its checksum, at the start of `bytes` for a
  /// payload of `payloadLength` bytes.
  ///
  /// Throws `.truncated` when `bytes` are fewer than 20 and `.badLength` when the
  /// total length would not fit 16 bits. Out-of-range `dscp`, `ecn` and
  /// `fragmentOffset` are masked to their field widths.
  public func emit(
    into bytes: UnsafeMutableRawBufferPointer, payloadLength: Int
  ) throws(WireError) {
    guard bytes.count >= IPv4Header.byteCount else { throw .truncated }
    guard payloadLength >= 0, payloadLength <= Int(UInt16.max) - IPv4Header.byteCount else {
      throw .badLength
    }
    typealias Offset = IPv4Packet.Offset
    bytes[Offset.versionAndHeaderLength] = 0x40 | UInt8(IPv4Header.byteCount / 4)
    bytes[Offset.dscpAndECN] = (dscp & 0x3F) << 2 | ecn & 0x03
    bytes.storeBigEndian(UInt16(IPv4Header.byteCount + payloadLength), at: Offset.totalLength)
    bytes.storeBigEndian(identification, at: Offset.identification)
    var flags = fragmentOffset & IPv4Packet.fragmentOffsetMask
    if dontFragment { flags |= IPv4Packet.dontFragmentBit }
    if moreFragments { flags |= IPv4Packet.moreFragmentsBit }
    bytes.storeBigEndian(flags, at: Offset.flagsAndFragmentOffset)
    bytes[Offset.timeToLive] = timeToLive
    bytes[Offset.protocol] = `protocol`.rawValue
    bytes.storeBigEndian(UInt16(0), at: Offset.headerChecksum)
    bytes.storeBigEndian(source.rawValue, at: Offset.source)
    bytes.storeBigEndian(destination.rawValue, at: Offset.destination)
    let header = UnsafeRawBufferPointer(rebasing: bytes[..<IPv4Header.byteCount])
    bytes.storeBigEndian(InternetChecksum.checksum(header), at: Offset.headerChecksum)
  }

  /// The header followed by `payload`, as bytes; traps if `payload` exceeds 65,515 bytes.
  public func emit(payload: some Collection<UInt8> = [UInt8]()) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: IPv4Header.byteCount)
    out += payload
    let payloadLength = payload.count
    out.withUnsafeMutableBytes { bytes in
      do throws(WireError) {
        try emit(into: bytes, payloadLength: payloadLength)
      } catch {
        preconditionFailure("IPv4 payload of \(payloadLength) bytes does not fit 65515")
      }
    }
    return out
  }
}
