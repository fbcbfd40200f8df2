// TCP (RFC 9293).
//
// Safety: `TCPSegment(validating:)` proves 20 <= headerLength <= bytes.count,
// so the fixed fields (below 20), the options (below headerLength) and the
// payload (the rest of the buffer) lie in it. `TCPHeader.emit(into:pseudoHeader:)`
// checks for room for the header and its options before writing.

/// The control bits of a TCP header.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
  /// The flags byte as carried on the wire.
  public let rawValue: UInt8

  /// Makes flags from the wire byte.
  @inline(__always)
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// FIN: no more data from the sender.
  public static let fin = TCPFlags(rawValue: 0x01)
  /// SYN: synchronize sequence numbers.
  public static let syn = TCPFlags(rawValue: 0x02)
  /// RST: reset the connection.
  public static let rst = TCPFlags(rawValue: 0x04)
  /// PSH: push.
  public static let psh = TCPFlags(rawValue: 0x08)
  /// ACK: the acknowledgment number is significant.
  public static let ack = TCPFlags(rawValue: 0x10)
  /// URG: the urgent pointer is significant.
  public static let urg = TCPFlags(rawValue: 0x20)
  /// ECE: ECN echo.
  public static let ece = TCPFlags(rawValue: 0x40)
  /// CWR: congestion window reduced.
  public static let cwr = TCPFlags(rawValue: 0x80)

  /// `SYN,ACK` style text, in wire bit order; empty for no flags.
  public var description: String {
    let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]
    var text = ""
    for bit in 0..<8 where rawValue & (1 << bit) != 0 {
      if !text.isEmpty { text += "," }
      text += names[bit]
    }
    return text
  }
}

/// A read-only, checked view over a TCP segment.
///
/// Valid only while the buffer it was made from is. TCP has no length field:
/// the buffer must be exactly the segment (an IP packet's `payload`).
public struct TCPSegment {
  /// Field offsets from the start of the segment.
  public enum Offset {
    /// Source port.
    public static let sourcePort = 0
    /// Destination port.
    public static let destinationPort = 2
    /// Sequence number.
    public static let sequenceNumber = 4
    /// Acknowledgment number.
    public static let acknowledgmentNumber = 8
    /// Data offset: header length in 32-bit words (high nibble); low nibble reserved.
    public static let dataOffset = 12
    /// Control bits.
    public static let flags = 13
    /// Receive window.
    public static let window = 14
    /// Checksum over pseudo-header, header and payload.
    public static let checksum = 16
    /// Urgent pointer.
    public static let urgentPointer = 18
    /// Options, when the header is longer than 20 bytes.
    public static let options = 20
  }

  /// The length of a header without options.
  public static let minimumHeaderLength = 20
  /// The length of a header with the most options (data offset 15).
  public static let maximumHeaderLength = 60

  /// The segment's bytes.
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold a TCP header and all the options it declares.
  ///
  /// Throws `.truncated` for fewer than 20 bytes and `.badLength` for a data
  /// offset below 5 or past the buffer.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= TCPSegment.minimumHeaderLength else { throw .truncated }
    let headerLength = Int(bytes[Offset.dataOffset] >> 4) * 4
    guard headerLength >= TCPSegment.minimumHeaderLength, headerLength <= bytes.count else {
      throw .badLength
    }
    self.bytes = bytes
  }

  /// The source port.
  @inline(__always)
  public var sourcePort: UInt16 { bytes.bigEndianUInt16(at: Offset.sourcePort) }

  /// The destination port.
  @inline(__always)
  public var destinationPort: UInt16 { bytes.bigEndianUInt16(at: Offset.destinationPort) }

  /// The sequence number.
  @inline(__always)
  public var sequenceNumber: UInt32 { bytes.bigEndianUInt32(at: Offset.sequenceNumber) }

  /// The acknowledgment number.
  @inline(__always)
  public var acknowledgmentNumber: UInt32 { bytes.bigEndianUInt32(at: Offset.acknowledgmentNumber) }

  /// The header length in bytes, options included (20 through 60).
  @inline(__always)
  public var headerLength: Int { Int(bytes[Offset.dataOffset] >> 4) * 4 }

  /// The control bits.
  @inline(__always)
  public var flags: TCPFlags { TCPFlags(rawValue: bytes[Offset.flags]) }

  /// The receive window, unscaled.
  @inline(__always)
  public var window: UInt16 { bytes.bigEndianUInt16(at: Offset.window) }

  /// The checksum as carried.
  @inline(__always)
  public var checksum: UInt16 { bytes.bigEndianUInt16(at: Offset.checksum) }

  /// The urgent pointer.
  @inline(__always)
  public var urgentPointer: UInt16 { bytes.bigEndianUInt16(at: Offset.urgentPointer) }

  /// The options bytes (empty for a 20-byte header).
  @inline(__always)
  public var options: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[Offset.options..<headerLength])
  }

  /// The bytes after the header.
  @inline(__always)
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[headerLength...])
  }

  /// True when the checksum over `pseudoHeader` and the whole segment is correct.
  @inline(__always)
  public func isChecksumValid(_ pseudoHeader: IPPseudoHeader) -> Bool {
    let start = pseudoHeader.sum(protocol: .tcp, length: bytes.count)
    return InternetChecksum.finish(InternetChecksum.sum(bytes, into: start)) == 0
  }
}

/// The parsed value of a TCP header, options included, for building segments and comparing them.
///
/// The data offset and checksum are not part of the value: `emit` computes them.
public struct TCPHeader: Hashable, Sendable {
  /// The source port.
  public var sourcePort: UInt16
  /// The destination port.
  public var destinationPort: UInt16
  /// The sequence number.
  public var sequenceNumber: UInt32
  /// The acknowledgment number.
  public var acknowledgmentNumber: UInt32
  /// The control bits.
  public var flags: TCPFlags
  /// The receive window, unscaled.
  public var window: UInt16
  /// The urgent pointer.
  public var urgentPointer: UInt16
  /// The options bytes, at most 40; `emit` pads them with zeros (end of list) to 32 bits.
  public var options: [UInt8]

  /// Makes a header value.
  public init(
    sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32,
    acknowledgmentNumber: UInt32 = 0, flags: TCPFlags, window: UInt16,
    urgentPointer: UInt16 = 0, options: [UInt8] = []
  ) {
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.sequenceNumber = sequenceNumber
    self.acknowledgmentNumber = acknowledgmentNumber
    self.flags = flags
    self.window = window
    self.urgentPointer = urgentPointer
    self.options = options
  }

  /// Reads the value of a checked segment.
  public init(_ segment: TCPSegment) {
    self.init(
      sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
      sequenceNumber: segment.sequenceNumber, acknowledgmentNumber: segment.acknowledgmentNumber,
      flags: segment.flags, window: segment.window, urgentPointer: segment.urgentPointer,
      options: Array(segment.options))
  }

  /// The header's length on the wire: 20 plus the options padded to 32 bits.
  public var byteCount: Int { TCPSegment.minimumHeaderLength + (options.count + 3) / 4 * 4 }

  /// Writes the header over the first `byteCount` of `bytes` and the checksum over all of them.
  ///
  /// `bytes` is the whole segment: room for the header followed by the payload,
  /// already in place. Throws `.badLength` for more than 40 bytes of options and
  /// `.truncated` when `bytes` are fewer than `byteCount`.
  public func emit(
    into bytes: UnsafeMutableRawBufferPointer, pseudoHeader: IPPseudoHeader
  ) throws(WireError) {
    let headerLength = byteCount
    guard headerLength <= TCPSegment.maximumHeaderLength else { throw .badLength }
    guard bytes.count >= headerLength else { throw .truncated }
    typealias Offset = TCPSegment.Offset
    bytes.storeBigEndian(sourcePort, at: Offset.sourcePort)
    bytes.storeBigEndian(destinationPort, at: Offset.destinationPort)
    bytes.storeBigEndian(sequenceNumber, at: Offset.sequenceNumber)
    bytes.storeBigEndian(acknowledgmentNumber, at: Offset.acknowledgmentNumber)
    bytes[Offset.dataOffset] = UInt8(headerLength / 4) << 4
    bytes[Offset.flags] = flags.rawValue
    bytes.storeBigEndian(window, at: Offset.window)
    bytes.storeBigEndian(UInt16(0), at: Offset.checksum)
    bytes.storeBigEndian(urgentPointer, at: Offset.urgentPointer)
    for index in Offset.options..<headerLength {
      let optionIndex = index - Offset.options
      bytes[index] = optionIndex < options.count ? options[optionIndex] : 0
    }
    let start = pseudoHeader.sum(protocol: .tcp, length: bytes.count)
    let checksum = InternetChecksum.finish(
      InternetChecksum.sum(UnsafeRawBufferPointer(bytes), into: start))
    bytes.storeBigEndian(checksum, at: Offset.checksum)
  }

  /// The segment with `payload`, as bytes; traps for more than 40 bytes of options.
  public func emit(
    payload: some Collection<UInt8> = [UInt8](), pseudoHeader: IPPseudoHeader
  ) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: byteCount)
    out += payload
    out.withUnsafeMutableBytes { bytes in
      do throws(WireError) {
        try emit(into: bytes, pseudoHeader: pseudoHeader)
      } catch {
        preconditionFailure("TCP options of \(options.count) bytes exceed 40")
      }
    }
    return out
  }
}
