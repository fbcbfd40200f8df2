// Rewriting an IPv4 packet's addresses and TTL in place, every checksum kept
// right by incremental update (RFC 1624): the header's, the transport
// header's through the pseudo-header, and those of a header quoted in an ICMP
// error. What network address translation does to each frame, written once
// beside the views it edits.
//
// Safety: `MutableIPv4Packet` is validated (20 <= headerLength <=
// totalLength <= bytes.count) and `QuotedIPv4Header(validating:)` proves
// 20 <= headerLength and headerLength + 8 <= bytes.count; every store below
// is at a fixed field below 20 (TTL, checksum, addresses).

extension UnsafeMutableRawBufferPointer {
  /// Sets the IPv4 address at `offset` of the header at the start of this
  /// buffer, updating the header checksum and `transport`'s.
  @inline(__always)
  fileprivate func rewriteIPv4Address(
    at offset: Int, to address: IPv4Address, transport: MutableTransportHeader?
  ) {
    let old = UnsafeRawBufferPointer(self).bigEndianUInt32(at: offset)
    let new = address.rawValue
    guard old != new else { return }
    storeBigEndian(new, at: offset)
    let field = IPv4Packet.Offset.headerChecksum
    storeBigEndian(
      InternetChecksum.update(
        UnsafeRawBufferPointer(self).bigEndianUInt16(at: field), old: old, new: new),
      at: field)
    transport?.addressChanged(from: old, to: new)
  }
}

extension MutableIPv4Packet {
  /// The source address.
  @inline(__always)
  public var source: IPv4Address { packet.source }

  /// The destination address.
  @inline(__always)
  public var destination: IPv4Address { packet.destination }

  /// The protocol of the transport header.
  @inline(__always)
  public var `protocol`: IPProtocol { packet.protocol }

  /// The TTL.
  @inline(__always)
  public var timeToLive: UInt8 { packet.timeToLive }

  /// True for any fragment (more fragments set, or a non-zero offset).
  @inline(__always)
  public var isFragment: Bool { packet.isFragment }

  /// The total length: header and payload, without a frame's padding.
  @inline(__always)
  public var totalLength: Int { packet.totalLength }

  /// The transport header and payload (`headerLength ..< totalLength`): a
  /// frame's padding after the packet is not part of it.
  @inline(__always)
  public var transportBytes: UnsafeMutableRawBufferPointer {
    let view = packet
    return UnsafeMutableRawBufferPointer(rebasing: bytes[view.headerLength..<view.totalLength])
  }

  /// Sets the source address, keeping the header's checksum and
  /// `transport`'s (this packet's transport header) right.
  @inline(__always)
  public func rewriteSource(_ address: IPv4Address, transport: MutableTransportHeader?) {
    bytes.rewriteIPv4Address(at: IPv4Packet.Offset.source, to: address, transport: transport)
  }

  /// Sets the destination address, keeping the header's checksum and `transport`'s right.
  @inline(__always)
  public func rewriteDestination(_ address: IPv4Address, transport: MutableTransportHeader?) {
    bytes.rewriteIPv4Address(at: IPv4Packet.Offset.destination, to: address, transport: transport)
  }

  /// Takes one from the TTL, keeping the header checksum right; false (and
  /// nothing changed) when it is 1 or 0 and so may not be forwarded.
  @inline(__always)
  public func decrementTimeToLive() -> Bool {
    let offset = IPv4Packet.Offset.timeToLive
    let ttl = bytes[offset]
    guard ttl > 1 else { return false }
    // The TTL is the high byte of the 16-bit word the checksum sums.
    let word = UnsafeRawBufferPointer(bytes).bigEndianUInt16(at: offset)
    bytes[offset] = ttl - 1
    let field = IPv4Packet.Offset.headerChecksum
    bytes.storeBigEndian(
      InternetChecksum.update(packet.headerChecksum, old: word, new: word &- 0x100), at: field)
    return true
  }
}

/// The IPv4 header an ICMP error quotes, with the first 8 bytes of what
/// followed it (RFC 792): cut short by design, so its total length says
/// nothing about the buffer, and only its header and those 8 bytes are read.
public struct QuotedIPv4Header {
  /// The quote: the header, then at least 8 bytes of the transport header.
  public let bytes: UnsafeMutableRawBufferPointer

  /// Views the quote at the start of `bytes` (the ICMP error's payload);
  /// throws unless it is IPv4 with a header of at least 20 bytes followed by 8 more.
  @inline(__always)
  public init(validating bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
    guard bytes.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
    let first = bytes[IPv4Packet.Offset.versionAndHeaderLength]
    guard first >> 4 == 4 else { throw .malformed }
    let headerLength = Int(first & 0x0F) * 4
    guard headerLength >= IPv4Packet.minimumHeaderLength, headerLength + 8 <= bytes.count else {
      throw .badLength
    }
    self.bytes = bytes
  }

  @inline(__always)
  var headerLength: Int { Int(bytes[IPv4Packet.Offset.versionAndHeaderLength] & 0x0F) * 4 }

  /// The quoted packet's protocol.
  @inline(__always)
  public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes[IPv4Packet.Offset.protocol]) }

  /// The quoted packet's source address.
  @inline(__always)
  public var source: IPv4Address {
    IPv4Address(
      rawValue: UnsafeRawBufferPointer(bytes).bigEndianUInt32(at: IPv4Packet.Offset.source))
  }

  /// The quoted packet's destination address.
  @inline(__always)
  public var destination: IPv4Address {
    IPv4Address(
      rawValue: UnsafeRawBufferPointer(bytes).bigEndianUInt32(at: IPv4Packet.Offset.destination))
  }

  /// What the quote holds after the header: at least 8 bytes of the transport header.
  @inline(__always)
  public var transportBytes: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(rebasing: bytes[headerLength...])
  }

  /// Sets the quoted source address, keeping the quoted checksums right.
  @inline(__always)
  public func rewriteSource(_ address: IPv4Address, transport: MutableTransportHeader?) {
    bytes.rewriteIPv4Address(at: IPv4Packet.Offset.source, to: address, transport: transport)
  }

  /// Sets the quoted destination address, keeping the quoted checksums right.
  @inline(__always)
  public func rewriteDestination(_ address: IPv4Address, transport: MutableTransportHeader?) {
    bytes.rewriteIPv4Address(at: IPv4Packet.Offset.destination, to: address, transport: transport)
  }
}
