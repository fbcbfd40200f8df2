// UDP (RFC 768).
//
// Safety: `UDPDatagram(validating:)` proves 8 <= length <= bytes.count, so the
// fixed fields (below 8) and the payload (below length) lie in the buffer.
// `UDPHeader.emit(into:pseudoHeader:)` checks for 8 bytes of room before writing.

/// A read-only, checked view over a UDP datagram.
///
/// Valid only while the buffer it was made from is. The buffer may run past
/// the length field (padding): `payload` and the checksum stop at `length`.
public struct UDPDatagram {
  /// Field offsets from the start of the datagram.
  public enum Offset {
    /// Source port.
    public static let sourcePort = 0
    /// Destination port.
    public static let destinationPort = 2
    /// Length of header and payload, in bytes.
    public static let length = 4
    /// Checksum over pseudo-header, header and payload (0: none, IPv4 only).
    public static let checksum = 6
    /// The first byte after the header.
    public static let payload = 8
  }

  /// The length of the header.
  public static let headerLength = 8

  /// The buffer's bytes, from the header to the end of the buffer.
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold a UDP header and the whole datagram it declares.
  ///
  /// Throws `.truncated` for fewer than 8 bytes and `.badLength` for a length
  /// field below 8 or past the buffer.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= UDPDatagram.headerLength else { throw .truncated }
    let length = Int(bytes.bigEndianUInt16(at: Offset.length))
    guard length >= UDPDatagram.headerLength, length <= bytes.count else { throw .badLength }
    self.bytes = bytes
  }

  /// The source port.
  @inline(__always)
  public var sourcePort: UInt16 { bytes.bigEndianUInt16(at: Offset.sourcePort) }

  /// The destination port.
  @inline(__always)
  public var destinationPort: UInt16 { bytes.bigEndianUInt16(at: Offset.destinationPort) }

  /// The length field: header and payload, in bytes.
  @inline(__always)
  public var length: Int { Int(bytes.bigEndianUInt16(at: Offset.length)) }

  /// The checksum as carried (0 means the sender computed none, allowed over IPv4 only).
  @inline(__always)
  public var checksum: UInt16 { bytes.bigEndianUInt16(at: Offset.checksum) }

  /// The datagram, header and payload, as bounded by the length field.
  @inline(__always)
  public var datagram: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[..<length])
  }

  /// The payload, bounded by the length field.
  @inline(__always)
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[Offset.payload..<length])
  }

  /// True when the checksum is correct for `pseudoHeader`, or absent (0) over IPv4.
  ///
  /// A zero checksum over IPv6 is invalid (RFC 8200 §8.1).
  @inline(__always)
  public func isChecksumValid(_ pseudoHeader: IPPseudoHeader) -> Bool {
    if checksum == 0 {
      if case .ipv4 = pseudoHeader { return true }
      return false
    }
    let start = pseudoHeader.sum(protocol: .udp, length: length)
    return InternetChecksum.finish(InternetChecksum.sum(datagram, into: start)) == 0
  }
}

/// The parsed value of a UDP header, for building datagrams and comparing them.
///
/// The length and checksum are not part of the value: `emit` computes them.
public struct UDPHeader: Hashable, Sendable {
  /// The source port.
  public var sourcePort: UInt16
  /// The destination port.
  public var destinationPort: UInt16

  /// Makes a header value.
  public init(sourcePort: UInt16, destinationPort: UInt16) {
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
  }

  /// Reads the value of a checked datagram.
  public init(_ datagram: UDPDatagram) {
    self.init(sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort)
  }

  /// Writes the header over the first 8 of `bytes`, with the length and checksum of all of them.
  ///
  /// `bytes` is the whole datagram: 8 bytes of room followed by the payload,
  /// already in place. A computed checksum of 0 is sent as 0xffff. Throws
  /// `.truncated` for fewer than 8 bytes and `.badLength` for more than 65,535.
  public func emit(
    into bytes: UnsafeMutableRawBufferPointer, pseudoHeader: IPPseudoHeader
  ) throws(WireError) {
    guard bytes.count >= UDPDatagram.headerLength else { throw .truncated }
    guard bytes.count <= Int(UInt16.max) else { throw .badLength }
    typealias Offset = UDPDatagram.Offset
    bytes.storeBigEndian(sourcePort, at: Offset.sourcePort)
    bytes.storeBigEndian(destinationPort, at: Offset.destinationPort)
    bytes.storeBigEndian(UInt16(bytes.count), at: Offset.length)
    bytes.storeBigEndian(UInt16(0), at: Offset.checksum)
    let start = pseudoHeader.sum(protocol: .udp, length: bytes.count)
    let checksum = InternetChecksum.finish(
      InternetChecksum.sum(UnsafeRawBufferPointer(bytes), into: start))
    bytes.storeBigEndian(checksum == 0 ? 0xFFFF : checksum, at: Offset.checksum)
  }

  /// The datagram with `payload`, as bytes; traps if `payload` exceeds 65,527 bytes.
  public func emit(
    payload: some Collection<UInt8> = [UInt8](), pseudoHeader: IPPseudoHeader
  ) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: UDPDatagram.headerLength)
    out += payload
    out.withUnsafeMutableBytes { bytes in
      do throws(WireError) {
        try emit(into: bytes, pseudoHeader: pseudoHeader)
      } catch {
        preconditionFailure("UDP datagram of \(bytes.count) bytes does not fit 65535")
      }
    }
    return out
  }
}
