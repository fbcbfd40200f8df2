// ICMP for IPv4 (RFC 792).
//
// Safety: `ICMPPacket(validating:)` proves the buffer holds the 8-byte header;
// every accessor reads a fixed field below 8, and the payload and checksum
// cover exactly the buffer. `ICMPEchoMessage.emit(into:)` checks for 8 bytes
// of room before writing.

/// The type of an ICMPv4 message; unknown types survive a round trip.
public struct ICMPType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The value as carried on the wire.
  public let rawValue: UInt8

  /// Makes a type from its wire value.
  @inline(__always)
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// Echo reply, 0.
  public static let echoReply = ICMPType(rawValue: 0)
  /// Destination unreachable, 3.
  public static let destinationUnreachable = ICMPType(rawValue: 3)
  /// Redirect, 5.
  public static let redirect = ICMPType(rawValue: 5)
  /// Echo request, 8.
  public static let echoRequest = ICMPType(rawValue: 8)
  /// Time exceeded, 11.
  public static let timeExceeded = ICMPType(rawValue: 11)
  /// Parameter problem, 12.
  public static let parameterProblem = ICMPType(rawValue: 12)

  /// `8 (echo request)` style text.
  public var description: String {
    switch self {
    case .echoReply: return "0 (echo reply)"
    case .destinationUnreachable: return "3 (destination unreachable)"
    case .redirect: return "5 (redirect)"
    case .echoRequest: return "8 (echo request)"
    case .timeExceeded: return "11 (time exceeded)"
    case .parameterProblem: return "12 (parameter problem)"
    default: return String(rawValue)
    }
  }
}

/// A read-only, checked view over an ICMPv4 message.
///
/// Valid only while the buffer it was made from is. The buffer must be exactly
/// the message (an `IPv4Packet`'s `payload`): the checksum covers all of it.
public struct ICMPPacket {
  /// Field offsets from the start of the message.
  public enum Offset {
    /// Message type.
    public static let type = 0
    /// Message code.
    public static let code = 1
    /// Checksum over the whole message.
    public static let checksum = 2
    /// The type-specific second word (identifier and sequence number for echo).
    public static let restOfHeader = 4
    /// Echo identifier.
    public static let identifier = 4
    /// Echo sequence number.
    public static let sequenceNumber = 6
    /// The first byte after the header.
    public static let payload = 8
  }

  /// The length of the header.
  public static let headerLength = 8

  /// The message's bytes.
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold at least an ICMP header; throws `.truncated` for fewer than 8.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= ICMPPacket.headerLength else { throw .truncated }
    self.bytes = bytes
  }

  /// The message type.
  @inline(__always)
  public var type: ICMPType { ICMPType(rawValue: bytes[Offset.type]) }

  /// The message code.
  @inline(__always)
  public var code: UInt8 { bytes[Offset.code] }

  /// The checksum as carried.
  @inline(__always)
  public var checksum: UInt16 { bytes.bigEndianUInt16(at: Offset.checksum) }

  /// The type-specific second word of the header.
  @inline(__always)
  public var restOfHeader: UInt32 { bytes.bigEndianUInt32(at: Offset.restOfHeader) }

  /// The echo identifier (meaningful for echo request and reply).
  @inline(__always)
  public var identifier: UInt16 { bytes.bigEndianUInt16(at: Offset.identifier) }

  /// The echo sequence number (meaningful for echo request and reply).
  @inline(__always)
  public var sequenceNumber: UInt16 { bytes.bigEndianUInt16(at: Offset.sequenceNumber) }

  /// The bytes after the 8-byte header.
  @inline(__always)
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[Offset.payload...])
  }

  /// True when the checksum over the whole message is correct.
  @inline(__always)
  public var isChecksumValid: Bool { InternetChecksum.checksum(bytes) == 0 }
}

/// The parsed value of an ICMPv4 echo request or reply, for building messages and comparing them.
public struct ICMPEchoMessage: Hashable, Sendable {
  /// Whether the message asks or answers.
  public enum Kind: Hashable, Sendable {
    /// Echo request (type 8).
    case request
    /// Echo reply (type 0).
    case reply
  }

  /// Request or reply.
  public var kind: Kind
  /// The echo identifier.
  public var identifier: UInt16
  /// The echo sequence number.
  public var sequenceNumber: UInt16

  /// Makes an echo message value.
  public init(kind: Kind, identifier: UInt16, sequenceNumber: UInt16) {
    self.kind = kind
    self.identifier = identifier
    self.sequenceNumber = sequenceNumber
  }

  /// Reads the value of a checked echo request or reply; nil for other types or a non-zero code.
  public init?(_ packet: ICMPPacket) {
    switch packet.type {
    case .echoRequest: kind = .request
    case .echoReply: kind = .reply
    default: return nil
    }
    guard packet.code == 0 else { return nil }
    identifier = packet.identifier
    sequenceNumber = packet.sequenceNumber
  }

  /// The wire type for `kind`.
  public var type: ICMPType { kind == .request ? .echoRequest : .echoReply }

  /// Writes the header over the first 8 of `bytes` and the checksum over all of them.
  ///
  /// `bytes` is the whole message: 8 bytes of room followed by the payload,
  /// already in place. Throws `.truncated` when there are fewer than 8.
  public func emit(into bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
    guard bytes.count >= ICMPPacket.headerLength else { throw .truncated }
    typealias Offset = ICMPPacket.Offset
    bytes[Offset.type] = type.rawValue
    bytes[Offset.code] = 0
    bytes.storeBigEndian(UInt16(0), at: Offset.checksum)
    bytes.storeBigEndian(identifier, at: Offset.identifier)
    bytes.storeBigEndian(sequenceNumber, at: Offset.sequenceNumber)
    let checksum = InternetChecksum.checksum(UnsafeRawBufferPointer(bytes))
    bytes.storeBigEndian(checksum, at: Offset.checksum)
  }

  /// The message with `payload`, as bytes.
  public func emit(payload: some Collection<UInt8> = [UInt8]()) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: ICMPPacket.headerLength)
    out += payload
    out.withUnsafeMutableBytes { bytes in try! emit(into: bytes) }
    return out
  }
}
