import PatchbayWire

/// The checksums of an untagged Ethernet frame carrying IPv4: the header's, and
/// the TCP, UDP or ICMP one inside it. The NAT target makes them right on what
/// goes in (`fix`) and checks them on what comes out (`areValid`): incremental
/// updates (RFC 1624) keep a right checksum right, so every frame the router
/// rewrites or makes must carry right ones when everything fed to it did.
enum IPv4Checksums {
  /// The packet of `frame`, when it holds a well-formed one.
  private static func packet(_ frame: UnsafeRawBufferPointer) -> IPv4Packet? {
    guard frame.count >= EthernetFrame.headerLength,
      frame.bigEndianUInt16(at: EthernetFrame.Offset.etherType) == EtherType.ipv4.rawValue
    else { return nil }
    return try? IPv4Packet(
      validating: UnsafeRawBufferPointer(rebasing: frame[EthernetFrame.headerLength...]))
  }

  /// Where the transport checksum lies and what it covers, when there is one to check.
  private static func transport(_ packet: IPv4Packet)
    -> (checksum: Int, covered: UnsafeRawBufferPointer, pseudo: UInt32?)?
  {
    let payload = packet.payload
    switch packet.protocol {
    case .tcp where payload.count >= TCPSegment.minimumHeaderLength:
      let pseudo = packet.pseudoHeader.sum(protocol: .tcp, length: payload.count)
      return (TCPSegment.Offset.checksum, payload, pseudo)
    case .udp:
      // Checked when the length field holds (and a checksum is sent: 0 means none).
      guard let datagram = try? UDPDatagram(validating: payload), datagram.checksum != 0 else {
        return nil
      }
      let pseudo = packet.pseudoHeader.sum(protocol: .udp, length: datagram.length)
      return (UDPDatagram.Offset.checksum, datagram.datagram, pseudo)
    case .icmp where payload.count >= ICMPPacket.headerLength:
      return (ICMPPacket.Offset.checksum, payload, nil)
    default:
      return nil
    }
  }

  /// Writes right checksums into `frame`, where it holds an IPv4 packet.
  static func fix(_ frame: UnsafeMutableRawBufferPointer) {
    guard let packet = packet(UnsafeRawBufferPointer(frame)) else { return }
    let ip = EthernetFrame.headerLength
    frame.storeBigEndian(UInt16(0), at: ip + IPv4Packet.Offset.headerChecksum)
    frame.storeBigEndian(
      InternetChecksum.checksum(packet.header), at: ip + IPv4Packet.Offset.headerChecksum)
    guard let (field, covered, pseudo) = transport(packet) else { return }
    let offset = ip + packet.headerLength + field
    frame.storeBigEndian(UInt16(0), at: offset)
    var checksum = InternetChecksum.finish(InternetChecksum.sum(covered, into: pseudo ?? 0))
    if packet.protocol == .udp && checksum == 0 { checksum = 0xFFFF }
    frame.storeBigEndian(checksum, at: offset)
  }

  /// True unless `frame` holds an IPv4 packet with a wrong checksum.
  static func areValid(_ frame: UnsafeRawBufferPointer) -> Bool {
    guard let packet = packet(frame) else { return true }
    guard packet.isHeaderChecksumValid else { return false }
    guard let (_, covered, pseudo) = transport(packet) else { return true }
    return InternetChecksum.finish(InternetChecksum.sum(covered, into: pseudo ?? 0)) == 0
  }
}
