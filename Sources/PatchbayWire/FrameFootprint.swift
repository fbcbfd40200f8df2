/// What a frame puts on the wire for rate limiting: its layer-3 bytes and its
/// packets, counting a GSO superframe as the segments it will be cut into.
///
/// Layer 3 because that is what a guest's traffic is made of whichever way the
/// port tags it: the Ethernet header and any VLAN tags are not counted, so a
/// limit means the same on an access port and on a trunk. A segment counts at
/// least 46 bytes, the smallest Ethernet payload, so that empty frames are not free.
public struct FrameFootprint: Sendable, Equatable, Hashable {
  /// Layer-3 bytes over all segments.
  public var bytes: UInt64
  /// Packets: the segment count of a GSO superframe, else 1.
  public var packets: UInt64

  /// The smallest layer-3 size a segment counts as (the minimum Ethernet payload).
  public static let minimumSegmentBytes: UInt64 = 46
  /// The largest cost in bits a footprint reports: far above any real frame,
  /// it keeps bucket arithmetic inside 63 bits whatever a header claims.
  public static let maximumBits: UInt64 = 1 << 32

  /// A footprint from its parts.
  public init(bytes: UInt64, packets: UInt64) {
    self.bytes = bytes
    self.packets = packets
  }

  /// The footprint of `frame` as sent with `header`. A superframe whose header
  /// does not describe it (no checksum start, no segment size, offsets past the
  /// end) counts as one packet of its own size.
  @inlinable
  public init(frame: UnsafeRawBufferPointer, header: VirtioNetHeader) {
    let count = frame.count
    // Tags as the Ethernet view reads them; a frame cut short counts past 14 bytes.
    let layer2 =
      (try? EthernetFrame(validating: frame))?.payloadOffset ?? EthernetFrame.headerLength
    let single = UInt64(max(count - layer2, 0))
    self.init(bytes: max(single, FrameFootprint.minimumSegmentBytes), packets: 1)
    guard header.isGSO, header.gsoSize > 0, let base = frame.baseAddress else { return }
    let transport = Int(header.checksumStart)
    guard header.flags & VirtioNetHeader.needsChecksum != 0, transport >= layer2 else { return }
    let headersEnd: Int
    switch header.gsoType {
    case .tcpIPv4, .tcpIPv6:
      guard transport + 13 < count else { return }
      let dataOffset = Int(base.load(fromByteOffset: transport + 12, as: UInt8.self) >> 4) * 4
      headersEnd = transport + max(dataOffset, 20)
    case .udp, .udpL4:
      headersEnd = transport + 8
    case .some(.none), nil:
      return
    }
    guard headersEnd < count else { return }
    let payload = count - headersEnd
    let size = Int(header.gsoSize)
    let segments = (payload + size - 1) / size
    // Every segment carries the headers; each counts at least the minimum, the last one too.
    let headers = headersEnd - layer2
    let minimum = Int(FrameFootprint.minimumSegmentBytes)
    let full = max(headers + size, minimum)
    let last = max(headers + payload - (segments - 1) * size, minimum)
    bytes = UInt64((segments - 1) * full + last)
    packets = UInt64(segments)
  }

  /// The cost in the bit bucket.
  @inlinable @inline(__always)
  public var bitCost: UInt64 { min(bytes, FrameFootprint.maximumBits / 8) &* 8 }

  /// The cost in the packet bucket.
  @inlinable @inline(__always)
  public var packetCost: UInt64 { min(packets, FrameFootprint.maximumBits) }
}
