// IPv6 fixed header (RFC 8200 §3).
//
// Safety: `IPv6Packet(validating:)` proves 40 + payloadLength <= bytes.count,
// so the fixed fields (below 40) and the payload lie in the buffer.
// `IPv6Header.emit(into:payloadLength:)` checks for 40 bytes of room before writing.

/// A read-only, checked view over an IPv6 packet's fixed header and payload.
///
/// Valid only while the buffer it was made from is. The buffer may run past the
/// declared payload (Ethernet padding): `payload` stops at the payload length.
/// Extension headers are not walked: they are the start of `payload`.
public struct IPv6Packet {
  /// Field offsets from the start of the header.
  public enum Offset {
    /// Version (4 bits), traffic class (8 bits) and flow label (20 bits).
    public static let versionClassAndFlowLabel = 0
    /// Payload length, in bytes, extension headers included.
    public static let payloadLength = 4
    /// The type of the header after this one.
    public static let nextHeader = 6
    /// Hop limit.
    public static let hopLimit = 7
    /// Source address.
    public static let source = 8
    /// Destination address.
    public static let destination = 24
    /// The first byte after the fixed header.
    public static let payload = 40
  }

  /// The length of the fixed header.
  public static let headerLength = 40
  /// The flow label bits of the first word.
  static let flowLabelMask: UInt32 = 0x000F_FFFF

  /// The buffer's bytes, from the header to the end of the buffer.
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold an IPv6 fixed header and the payload it declares.
  ///
  /// Throws `.truncated` for fewer than 40 bytes, `.malformed` for a version
  /// other than 6 and `.badLength` for a payload length past the buffer.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= IPv6Packet.headerLength else { throw .truncated }
    guard bytes[Offset.versionClassAndFlowLabel] >> 4 == 6 else { throw .malformed }
    let payloadLength = Int(bytes.bigEndianUInt16(at: Offset.payloadLength))
    guard IPv6Packet.headerLength + payloadLength <= bytes.count else { throw .badLength }
    self.bytes = bytes
  }

  /// The version, always 6.
  @inline(__always)
  public var version: UInt8 { bytes[Offset.versionClassAndFlowLabel] >> 4 }

  /// The traffic class (DSCP in the high six bits, ECN in the low two).
  @inline(__always)
  public var trafficClass: UInt8 {
    UInt8(truncatingIfNeeded: bytes.bigEndianUInt32(at: Offset.versionClassAndFlowLabel) >> 20)
  }

  /// The 20-bit flow label.
  @inline(__always)
  public var flowLabel: UInt32 {
    bytes.bigEndianUInt32(at: Offset.versionClassAndFlowLabel) & IPv6Packet.flowLabelMask
  }

  /// The payload length in bytes (extension headers included).
  @inline(__always)
  public var payloadLength: Int { Int(bytes.bigEndianUInt16(at: Offset.payloadLength)) }

  /// The type of the first header in the payload.
  @inline(__always)
  public var nextHeader: IPProtocol { IPProtocol(rawValue: bytes[Offset.nextHeader]) }

  /// The hop limit.
  @inline(__always)
  public var hopLimit: UInt8 { bytes[Offset.hopLimit] }

  /// The source address.
  @inline(__always)
  public var source: IPv6Address { IPv6Address(unchecked: bytes, at: Offset.source) }

  /// The destination address.
  @inline(__always)
  public var destination: IPv6Address { IPv6Address(unchecked: bytes, at: Offset.destination) }

  /// The payload: the `payloadLength` bytes after the fixed header (padding excluded).
  @inline(__always)
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[Offset.payload..<(Offset.payload + payloadLength)])
  }

  /// The pseudo-header a TCP or UDP checksum in the payload covers.
  @inline(__always)
  public var pseudoHeader: IPPseudoHeader { .ipv6(source: source, destination: destination) }
}

/// The parsed value of an IPv6 fixed header, for building packets and comparing them.
public struct IPv6Header: Hashable, Sendable {
  /// The traffic class (DSCP in the high six bits, ECN in the low two).
  public var trafficClass: UInt8
  /// The 20-bit flow label.
  public var flowLabel: UInt32
  /// The type of the first header in the payload.
  public var nextHeader: IPProtocol
  /// The hop limit.
  public var hopLimit: UInt8
  /// The source address.
  public var source: IPv6Address
  /// The destination address.
  public var destination: IPv6Address

  /// Makes a header value.
  public init(
    trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, nextHeader: IPProtocol, hopLimit: UInt8 = 64,
    source: IPv6Address, destination: IPv6Address
  ) {
    self.trafficClass = trafficClass
    self.flowLabel = flowLabel
    self.nextHeader = nextHeader
    self.hopLimit = hopLimit
    self.source = source
    self.destination = destination
  }

  /// Reads the value of a checked packet.
  public init(_ packet: IPv6Packet) {
    self.init(
      trafficClass: packet.trafficClass, flowLabel: packet.flowLabel,
      nextHeader: packet.nextHeader, hopLimit: packet.hopLimit,
      source: packet.source, destination: packet.destination)
  }

  /// The header's length on the wire.
  public static let byteCount = IPv6Packet.headerLength

  /// Writes the 40-byte header at the start of `bytes` for a payload of `payloadLength` bytes.
  ///
  /// Throws `.truncated` when `bytes` are fewer than 40 and `.badLength` when
  /// `payloadLength` does not fit 16 bits. `flowLabel` is masked to 20 bits.
  public func emit(
    into bytes: UnsafeMutableRawBufferPointer, payloadLength: Int
  ) throws(WireError) {
    guard bytes.count >= IPv6Header.byteCount else { throw .truncated }
    guard payloadLength >= 0, payloadLength <= Int(UInt16.max) else { throw .badLength }
    typealias Offset = IPv6Packet.Offset
    let first = 6 << 28 | UInt32(trafficClass) << 20 | flowLabel & IPv6Packet.flowLabelMask
    bytes.storeBigEndian(first, at: Offset.versionClassAndFlowLabel)
    bytes.storeBigEndian(UInt16(payloadLength), at: Offset.payloadLength)
    bytes[Offset.nextHeader] = nextHeader.rawValue
    bytes[Offset.hopLimit] = hopLimit
    source.store(into: bytes, at: Offset.source)
    destination.store(into: bytes, at: Offset.destination)
  }

  /// The header followed by `payload`, as bytes; traps if `payload` exceeds 65,535 bytes.
  public func emit(payload: some Collection<UInt8> = [UInt8]()) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: IPv6Header.byteCount)
    out += payload
    let payloadLength = payload.count
    out.withUnsafeMutableBytes { bytes in
      do throws(WireError) {
        try emit(into: bytes, payloadLength: payloadLength)
      } catch {
        preconditionFailure("IPv6 payload of \(payloadLength) bytes does not fit 65535")
      }
    }
    return out
  }
}
