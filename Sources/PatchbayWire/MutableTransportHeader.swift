// The ports and checksum of a TCP, UDP or ICMP header, edited in place with
// the checksum kept right by incremental update (RFC 1624) rather than
// summed again: what network address translation needs per frame.
//
// Safety: `init(_:protocol:partialChecksum:)` proves the buffer holds the
// fixed header of its protocol (TCP 20 bytes, UDP 8, ICMP 8), and
// `init(quoted:protocol:)` the 8 bytes an ICMP error quotes; every load and
// store below is of a port or identifier (below 8), the TCP flags (below 20,
// read only when `hasFlags`) or the checksum field, which `checksum` names
// only when it lies inside the buffer.

/// A transport header's ports (for ICMP, the echo identifier in the source
/// port's place) and checksum, viewed in place for rewriting.
///
/// How the checksum is kept follows what the frame's sender left in it:
/// complete, partial for offload (virtio-net NEEDS_CSUM: the field holds the
/// uncomplemented pseudo-header sum, and whoever completes it sums the ports
/// as they are then), or absent (UDP sent without one, a quote cut before
/// the field).
public struct MutableTransportHeader {
  /// The header's protocol.
  public enum Kind: Equatable, Sendable {
    /// TCP: two ports, a checksum over the pseudo-header.
    case tcp
    /// UDP: two ports, a checksum over the pseudo-header that may be absent (0).
    case udp
    /// ICMP: the echo identifier where a source port would be, a checksum over the message only.
    case icmp
  }

  /// What the checksum field holds.
  public enum Checksum: Equatable, Sendable {
    /// The complete checksum: every edit updates it.
    case complete
    /// The pseudo-header sum left for offload to finish: address edits update it, port edits do not.
    case partial
    /// Nothing to keep (UDP checksum 0, or the field outside a quote).
    case absent
  }

  /// The header's protocol.
  public let kind: Kind
  /// What the checksum field holds.
  public let checksum: Checksum
  /// The header and whatever follows it in the packet.
  public let bytes: UnsafeMutableRawBufferPointer
  /// True when the buffer holds TCP's flags byte.
  let hasFlags: Bool

  /// Views the `protocol` header at the start of `bytes`; nil for another
  /// protocol or a header cut short. `partialChecksum` says the frame's
  /// virtio-net header left a TCP or UDP checksum for offload to finish.
  @inline(__always)
  public init?(
    _ bytes: UnsafeMutableRawBufferPointer, protocol: IPProtocol, partialChecksum: Bool
  ) {
    switch `protocol` {
    case .tcp:
      guard bytes.count >= TCPSegment.minimumHeaderLength else { return nil }
      kind = .tcp
      checksum = partialChecksum ? .partial : .complete
    case .udp:
      guard bytes.count >= UDPDatagram.headerLength else { return nil }
      kind = .udp
      let value = UnsafeRawBufferPointer(bytes).bigEndianUInt16(at: UDPDatagram.Offset.checksum)
      checksum = value == 0 ? .absent : partialChecksum ? .partial : .complete
    case .icmp:
      guard bytes.count >= ICMPPacket.headerLength else { return nil }
      kind = .icmp
      checksum = .complete
    default:
      return nil
    }
    self.bytes = bytes
    hasFlags = kind == .tcp
  }

  /// Views the start of a transport header quoted by an ICMP error: at least
  /// its first 8 bytes (ports, ICMP identifier), its checksum kept only where
  /// the quote holds it. Nil for another protocol or fewer than 8 bytes.
  public init?(quoted bytes: UnsafeMutableRawBufferPointer, protocol: IPProtocol) {
    guard bytes.count >= 8 else { return nil }
    let field: Int
    switch `protocol` {
    case .tcp: (kind, field) = (.tcp, TCPSegment.Offset.checksum)
    case .udp: (kind, field) = (.udp, UDPDatagram.Offset.checksum)
    case .icmp: (kind, field) = (.icmp, ICMPPacket.Offset.checksum)
    default: return nil
    }
    let holdsField = field + 2 <= bytes.count
    let isZero = holdsField && UnsafeRawBufferPointer(bytes).bigEndianUInt16(at: field) == 0
    checksum = !holdsField || kind == .udp && isZero ? .absent : .complete
    self.bytes = bytes
    hasFlags = kind == .tcp && bytes.count > TCPSegment.Offset.flags
  }

  @inline(__always)
  var checksumOffset: Int {
    switch kind {
    case .tcp: return TCPSegment.Offset.checksum
    case .udp: return UDPDatagram.Offset.checksum
    case .icmp: return ICMPPacket.Offset.checksum
    }
  }

  @inline(__always)
  func load16(_ offset: Int) -> UInt16 { UnsafeRawBufferPointer(bytes).bigEndianUInt16(at: offset) }

  /// The source port; for ICMP the echo identifier.
  @inline(__always)
  public var sourcePort: UInt16 {
    load16(kind == .icmp ? ICMPPacket.Offset.identifier : TCPSegment.Offset.sourcePort)
  }

  /// The destination port; 0 for ICMP, which has none.
  @inline(__always)
  public var destinationPort: UInt16 {
    kind == .icmp ? 0 : load16(TCPSegment.Offset.destinationPort)
  }

  /// TCP's flags; empty for the other protocols and for a quote cut before them.
  @inline(__always)
  public var flags: TCPFlags {
    hasFlags ? TCPFlags(rawValue: bytes[TCPSegment.Offset.flags]) : []
  }

  /// The ICMP type (the first byte; meaningful for ICMP only).
  @inline(__always)
  public var icmpType: ICMPType { ICMPType(rawValue: bytes[ICMPPacket.Offset.type]) }

  /// Sets the source port (for ICMP the echo identifier), keeping the checksum.
  @inline(__always)
  public func setSourcePort(_ port: UInt16) {
    setPort(at: kind == .icmp ? ICMPPacket.Offset.identifier : TCPSegment.Offset.sourcePort, port)
  }

  /// Sets the destination port, keeping the checksum; ICMP has none, and is left alone.
  @inline(__always)
  public func setDestinationPort(_ port: UInt16) {
    guard kind != .icmp else { return }
    setPort(at: TCPSegment.Offset.destinationPort, port)
  }

  @inline(__always)
  private func setPort(at offset: Int, _ port: UInt16) {
    let old = load16(offset)
    guard old != port else { return }
    bytes.storeBigEndian(port, at: offset)
    guard checksum == .complete else { return }
    store(InternetChecksum.update(load16(checksumOffset), old: old, new: port))
  }

  /// Keeps the checksum right after the IP header's address changed from
  /// `old` to `new`: TCP's and UDP's cover it through the pseudo-header, ICMP's does not.
  @inline(__always)
  func addressChanged(from old: UInt32, to new: UInt32) {
    // ICMP's checksum does not cover the addresses; an absent one may lie
    // outside the buffer (a quote cut before it), so it is never loaded.
    guard kind != .icmp, checksum != .absent else { return }
    let value = load16(checksumOffset)
    if checksum == .partial {
      bytes.storeBigEndian(
        ~InternetChecksum.update(~value, old: old, new: new), at: checksumOffset)
    } else {
      store(InternetChecksum.update(value, old: old, new: new))
    }
  }

  /// Stores an updated checksum. UDP sends 0 as 0xffff (0 means none). So
  /// does ICMP: RFC 1624's update yields 0 where a message of all zero bytes
  /// (an echo reply with identifier, sequence and payload 0) needs 0xffff,
  /// and 0xffff is right whenever 0 is. (A TCP header is never all zero bytes.)
  @inline(__always)
  private func store(_ value: UInt16) {
    bytes.storeBigEndian(kind != .tcp && value == 0 ? 0xFFFF : value, at: checksumOffset)
  }
}
