// Software segmentation and checksum completion: what a NIC with TSO, USO and
// checksum offload would do to a frame before putting it on the wire, for a
// port whose receiver cannot take GSO superframes or partial checksums.
//
// Safety: `SoftwareOffload.init(frame:header:)` proves, before any segment is
// made, that every header field it later reads or writes (Ethernet and VLAN
// tags, the IP header, the TCP or UDP header and the checksum field) lies
// inside the frame; segments only copy ranges below `frame.count`, and
// `next(into:)` refuses (traps on) a destination shorter than
// `maximumSegmentLength`, the longest segment it can write. Nothing here allocates.

/// Cuts a GSO superframe into wire-sized frames with complete checksums, or
/// completes the partial checksum of a frame that is not a superframe: the
/// work a NIC with offloads does, done in software for a receiver without them.
///
/// Made from a frame (Ethernet, with up to two VLAN tags) and its virtio-net
/// header, it yields the frames to send one at a time into a buffer the caller
/// provides, so that a datapath can loop over them without allocating:
///
///     var offload = try SoftwareOffload(frame: frame, header: header)
///     while let length = offload.next(into: scratch) { send(scratch, length) }
///
/// - A TCP superframe (TCPv4, TCPv6) becomes segments of `gsoSize` payload bytes
///   (the last may be shorter), each with its IPv4 total length, identification
///   (incremented per segment) and header checksum, or IPv6 payload length, its
///   sequence number advanced, FIN and PSH on the last segment only, CWR on the
///   first only, and a full TCP checksum.
/// - A UDP superframe (USO, `udpL4`) becomes datagrams of `gsoSize` payload bytes,
///   each with its own UDP length and checksum.
/// - A frame with a partial checksum and no GSO gets its checksum finished as
///   the kernel's `skb_checksum_help` does: the sum from `checksumStart` to the
///   end (the field holds the pseudo-header's seed), folded and complemented,
///   0 written as 0xFFFF.
/// - Any other frame is yielded once, unchanged.
///
/// The header's `headerLength` is not trusted (the kernel fills it with the
/// length of the frame's linear part, which may include payload): the
/// transport header starts at `checksumStart`, and a TCP header is as long as
/// its data offset says. Legacy UDP fragmentation offload (`udp`, GSO type 3),
/// which would need IP fragmentation, is refused.
public struct SoftwareOffload {
  /// Why a frame cannot be segmented or completed: its header does not describe it.
  public enum Failure: Error, Equatable, Sendable {
    /// A GSO type Patchbay does not segment (unknown, or legacy UFO).
    case unsupportedType
    /// A GSO frame without a partial checksum, or with a segment size of 0.
    case missingGSOFields
    /// The frame ends inside a header it needs.
    case truncated
    /// The checksum start or offset does not point at the transport header's checksum.
    case badChecksumLocation
    /// The frame's network or transport protocol is not the one its GSO type names.
    case protocolMismatch
  }

  /// What the yielded frames are.
  public enum Work: Equatable, Sendable {
    /// Copies of the frame as it is.
    case copy
    /// The frame with its partial checksum completed.
    case checksum
    /// TCP segments.
    case tcpSegments
    /// UDP datagrams.
    case udpSegments
  }

  /// What this offload does to its frame.
  public let work: Work
  /// How many frames `next(into:)` yields.
  public let segmentCount: Int
  /// The longest frame `next(into:)` writes: what its destination must hold.
  public let maximumSegmentLength: Int

  private let frame: UnsafeRawBufferPointer
  // Where the IP header starts (after the MAC addresses and any tags), and
  // whether it is IPv4 (else IPv6); where the transport header starts (the
  // checksum start) and where the headers end and the payload begins.
  private let networkOffset: Int
  private let isIPv4: Bool
  private let transportOffset: Int
  private let headersLength: Int
  private let checksumField: Int
  private let segmentSize: Int
  private var index = 0

  /// IPv4 and IPv6 header fields used here, from the start of the IP header.
  private enum IP {
    static let ipv4MinimumLength = 20
    static let ipv4TotalLength = 2
    static let ipv4Identification = 4
    static let ipv4Fragment = 6
    static let ipv4Protocol = 9
    static let ipv4Checksum = 10
    static let ipv4Addresses = 12
    static let ipv6Length = 40
    static let ipv6PayloadLength = 4
    static let ipv6NextHeader = 6
    static let ipv6Addresses = 8
  }

  /// TCP and UDP header fields used here, from the start of the transport header.
  private enum Transport {
    static let tcpMinimumLength = 20
    static let tcpSequence = 4
    static let tcpDataOffset = 12
    static let tcpFlags = 13
    static let tcpChecksum = 16
    static let udpLength = 4
    static let udpChecksum = 6
    static let udpHeaderLength = 8
  }

  /// Checks `frame` against `header` and prepares the frames to yield; throws
  /// when the header does not describe the frame. `frame` must stay valid and
  /// unchanged until the last `next(into:)`.
  public init(frame: UnsafeRawBufferPointer, header: VirtioNetHeader) throws(Failure) {
    self.frame = frame
    let count = frame.count
    let needsChecksum = header.flags & VirtioNetHeader.needsChecksum != 0
    let start = Int(header.checksumStart)
    let field = start + Int(header.checksumOffset)
    guard header.isGSO else {
      networkOffset = 0
      isIPv4 = false
      transportOffset = start
      headersLength = count
      segmentSize = count
      segmentCount = 1
      maximumSegmentLength = count
      checksumField = field
      guard needsChecksum else {
        work = .copy
        return
      }
      // The field must lie inside the frame, and coverage must start past the MAC header.
      guard start >= EthernetFrame.headerLength, field + 2 <= count else {
        throw .badChecksumLocation
      }
      work = .checksum
      return
    }
    let isTCP: Bool
    switch header.gsoType {
    case .tcpIPv4?, .tcpIPv6?: isTCP = true
    case .udpL4?: isTCP = false
    case .udp?, .none?, nil: throw .unsupportedType
    }
    guard needsChecksum, header.gsoSize > 0 else { throw .missingGSOFields }
    let network = try Self.networkOffset(of: frame)
    let etherType = frame.bigEndianUInt16(at: network - 2)
    let isIPv4 = etherType == EtherType.ipv4.rawValue
    guard isIPv4 || etherType == EtherType.ipv6.rawValue else { throw .protocolMismatch }
    if header.gsoType == .tcpIPv4 && !isIPv4 || header.gsoType == .tcpIPv6 && isIPv4 {
      throw .protocolMismatch
    }
    let expected = isTCP ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue
    if isIPv4 {
      try Self.checkIPv4(frame, at: network, transport: start, protocol: expected)
    } else {
      try Self.checkIPv6(frame, at: network, transport: start, protocol: expected)
    }
    let headersEnd: Int
    if isTCP {
      guard Int(header.checksumOffset) == Transport.tcpChecksum else {
        throw .badChecksumLocation
      }
      guard start + Transport.tcpMinimumLength <= count else { throw .truncated }
      let dataOffset =
        Int(frame.load(fromByteOffset: start + Transport.tcpDataOffset, as: UInt8.self) >> 4) * 4
      guard dataOffset >= Transport.tcpMinimumLength else { throw .badChecksumLocation }
      headersEnd = start + dataOffset
    } else {
      guard Int(header.checksumOffset) == Transport.udpChecksum else {
        throw .badChecksumLocation
      }
      headersEnd = start + Transport.udpHeaderLength
    }
    guard headersEnd <= count else { throw .truncated }
    let payload = count - headersEnd
    let size = Int(header.gsoSize)
    networkOffset = network
    self.isIPv4 = isIPv4
    transportOffset = start
    headersLength = headersEnd
    checksumField = field
    segmentSize = size
    work = isTCP ? .tcpSegments : .udpSegments
    // A superframe no longer than one segment is sent as one (as the kernel
    // treats it), with its lengths and checksum made right all the same.
    segmentCount = max(1, (payload + size - 1) / size)
    maximumSegmentLength = headersEnd + min(size, payload)
  }

  /// Writes the next frame into `destination` (at least `maximumSegmentLength`
  /// bytes) and returns its length; nil once every frame was yielded.
  public mutating func next(into destination: UnsafeMutableRawBufferPointer) -> Int? {
    guard index < segmentCount else { return nil }
    precondition(destination.count >= maximumSegmentLength, "segment buffer too small")
    defer { index += 1 }
    let out = destination.baseAddress!
    switch work {
    case .copy:
      out.copyMemory(from: frame.baseAddress!, byteCount: frame.count)
      return frame.count
    case .checksum:
      out.copyMemory(from: frame.baseAddress!, byteCount: frame.count)
      let covered = UnsafeRawBufferPointer(
        start: out + transportOffset, count: frame.count - transportOffset)
      // The field holds the seed (the pseudo-header's sum) and is summed with the rest.
      let value = InternetChecksum.finish(InternetChecksum.sum(covered))
      destination.storeBigEndian(value == 0 ? 0xFFFF : value, at: checksumField)
      return frame.count
    case .tcpSegments, .udpSegments:
      return writeSegment(into: destination)
    }
  }

  /// Segment `index`: the headers, its slice of the payload, then every length,
  /// identification, sequence number, flag and checksum made right for it.
  private func writeSegment(into destination: UnsafeMutableRawBufferPointer) -> Int {
    let out = destination.baseAddress!
    let payloadStart = headersLength + index * segmentSize
    let payload = min(segmentSize, frame.count - payloadStart)
    let length = headersLength + payload
    out.copyMemory(from: frame.baseAddress!, byteCount: headersLength)
    (out + headersLength).copyMemory(
      from: frame.baseAddress! + payloadStart, byteCount: payload)
    let isFirst = index == 0
    let isLast = index == segmentCount - 1
    let ip = networkOffset
    if isIPv4 {
      destination.storeBigEndian(
        UInt16(truncatingIfNeeded: length - ip), at: ip + IP.ipv4TotalLength)
      let identification = frame.bigEndianUInt16(at: ip + IP.ipv4Identification)
      destination.storeBigEndian(
        identification &+ UInt16(truncatingIfNeeded: index), at: ip + IP.ipv4Identification)
      destination.storeBigEndian(UInt16(0), at: ip + IP.ipv4Checksum)
      let ipHeader = UnsafeRawBufferPointer(start: out + ip, count: transportOffset - ip)
      destination.storeBigEndian(InternetChecksum.checksum(ipHeader), at: ip + IP.ipv4Checksum)
    } else {
      destination.storeBigEndian(
        UInt16(truncatingIfNeeded: length - ip - IP.ipv6Length), at: ip + IP.ipv6PayloadLength)
    }
    let transport = transportOffset
    let proto: UInt8
    if work == .tcpSegments {
      proto = IPProtocol.tcp.rawValue
      let sequence = frame.bigEndianUInt32(at: transport + Transport.tcpSequence)
      destination.storeBigEndian(
        sequence &+ UInt32(truncatingIfNeeded: index * segmentSize),
        at: transport + Transport.tcpSequence)
      var flags = frame.load(fromByteOffset: transport + Transport.tcpFlags, as: UInt8.self)
      if !isLast { flags &= ~(TCPFlags.fin.rawValue | TCPFlags.psh.rawValue) }
      if !isFirst { flags &= ~TCPFlags.cwr.rawValue }
      destination.storeBytes(
        of: flags, toByteOffset: transport + Transport.tcpFlags, as: UInt8.self)
    } else {
      proto = IPProtocol.udp.rawValue
      destination.storeBigEndian(
        UInt16(truncatingIfNeeded: length - transport), at: transport + Transport.udpLength)
    }
    destination.storeBigEndian(UInt16(0), at: checksumField)
    // The pseudo-header: both addresses (contiguous in either IP version), the
    // protocol and the transport length, then the transport header and payload.
    let addresses = UnsafeRawBufferPointer(
      start: out + ip + (isIPv4 ? IP.ipv4Addresses : IP.ipv6Addresses), count: isIPv4 ? 8 : 32)
    let transportLength = length - transport
    var sum = InternetChecksum.sum(addresses)
    sum = InternetChecksum.combine(sum, UInt32(proto))
    sum = InternetChecksum.combine(sum, UInt32(transportLength >> 16))
    sum = InternetChecksum.combine(sum, UInt32(transportLength & 0xFFFF))
    sum = InternetChecksum.sum(
      UnsafeRawBufferPointer(start: out + transport, count: transportLength), into: sum)
    let checksum = InternetChecksum.finish(sum)
    // UDP reserves 0 for "no checksum"; TCP's 0 and 0xFFFF are the same value.
    destination.storeBigEndian(checksum == 0 ? 0xFFFF : checksum, at: checksumField)
    return length
  }

  /// The offset of the IP header: past the MAC addresses and up to two VLAN
  /// tags, to the first EtherType that is not a tag.
  private static func networkOffset(of frame: UnsafeRawBufferPointer) throws(Failure) -> Int {
    var typeOffset = EthernetFrame.Offset.etherType
    for _ in 0...EthernetFrame.maximumTags {
      guard typeOffset + 2 <= frame.count else { throw .truncated }
      guard EtherType(rawValue: frame.bigEndianUInt16(at: typeOffset)).isVLANTag else {
        return typeOffset + 2
      }
      typeOffset += VLANTag.byteCount
    }
    // A third tag: more than Patchbay carries.
    throw .protocolMismatch
  }

  /// An IPv4 header at `offset`, not a fragment, carrying `proto`, whose
  /// transport header starts at `transport`.
  private static func checkIPv4(
    _ frame: UnsafeRawBufferPointer, at offset: Int, transport: Int, protocol proto: UInt8
  ) throws(Failure) {
    guard offset + IP.ipv4MinimumLength <= frame.count else { throw .truncated }
    let versionAndLength = frame.load(fromByteOffset: offset, as: UInt8.self)
    guard versionAndLength >> 4 == 4 else { throw .protocolMismatch }
    let headerLength = Int(versionAndLength & 0x0F) * 4
    guard headerLength >= IP.ipv4MinimumLength else { throw .protocolMismatch }
    guard transport == offset + headerLength else { throw .badChecksumLocation }
    guard frame.load(fromByteOffset: offset + IP.ipv4Protocol, as: UInt8.self) == proto else {
      throw .protocolMismatch
    }
    // More-fragments or a fragment offset: a fragment cannot be segmented.
    guard frame.bigEndianUInt16(at: offset + IP.ipv4Fragment) & 0x3FFF == 0 else {
      throw .protocolMismatch
    }
  }

  /// An IPv6 header at `offset` whose chain of extension headers (hop-by-hop,
  /// routing, destination options; no fragment header) leads to `proto` at `transport`.
  private static func checkIPv6(
    _ frame: UnsafeRawBufferPointer, at offset: Int, transport: Int, protocol proto: UInt8
  ) throws(Failure) {
    guard offset + IP.ipv6Length <= frame.count else { throw .truncated }
    guard frame.load(fromByteOffset: offset, as: UInt8.self) >> 4 == 6 else {
      throw .protocolMismatch
    }
    var next = frame.load(fromByteOffset: offset + IP.ipv6NextHeader, as: UInt8.self)
    var position = offset + IP.ipv6Length
    while position < transport {
      // Hop-by-hop options (0), routing (43), destination options (60).
      guard next == 0 || next == 43 || next == 60 else { throw .protocolMismatch }
      guard position + 8 <= frame.count else { throw .truncated }
      next = frame.load(fromByteOffset: position, as: UInt8.self)
      position += (Int(frame.load(fromByteOffset: position + 1, as: UInt8.self)) + 1) * 8
    }
    guard position == transport else { throw .badChecksumLocation }
    guard next == proto else { throw .protocolMismatch }
  }
}
