import PatchbayWire

/// Reads a frame through every PatchbayWire view that accepts it, touching
/// every accessor, and checks that each parsed value emits bytes that parse
/// back to the same value (the smoltcp `Repr` round trip).
///
/// Used by the `frame` target on every frame it receives. The views promise not
/// to trap on hostile input once their checked constructor succeeded; this is
/// where that promise is tested.
enum WireViews {
  /// Parses `bytes` as an Ethernet frame and everything inside it.
  static func read(frame bytes: UnsafeRawBufferPointer) {
    _ = FrameFootprint(frame: bytes, header: .plain).bitCost
    guard let frame = try? EthernetFrame(validating: bytes) else {
      invariant(bytes.count < EthernetFrame.headerLength + 2 * VLANTag.byteCount, "refused frame")
      return
    }
    _ = frame.destination.description + frame.source.description
    _ =
      frame.destination.isBroadcast || frame.source.isValidSource
      || frame.destination.isReservedGroup
    _ = frame.etherType.description
    for index in 0..<frame.tagCount {
      let tag = frame.tag(at: index)
      invariant(tag.protocolID.isVLANTag, "a tag the view walked is not a tag")
      _ = (tag.vlanID, tag.priority, tag.isDropEligible, tag.description)
    }
    invariant(frame.outerTag == (frame.tagCount > 0 ? frame.tag(at: 0) : nil), "outer tag")
    invariant(frame.payloadOffset + frame.payload.count == bytes.count, "payload bounds")
    if frame.tagCount <= 1 {
      // The single-tag header value rebuilds the same header bytes.
      let header = EthernetHeader(
        destination: frame.destination, source: frame.source, tag: frame.outerTag,
        payloadType: frame.payloadType)
      invariant(
        header.emit(payload: frame.payload).elementsEqual(bytes), "Ethernet header round trip")
    }
    read(payload: frame.payload, of: frame.payloadType)
  }

  /// Parses the payload of an Ethernet frame of `type`.
  static func read(payload: UnsafeRawBufferPointer, of type: EtherType) {
    switch type {
    case .ipv4: readIPv4(payload)
    case .ipv6: readIPv6(payload)
    case .arp: readARP(payload)
    default: break
    }
  }

  private static func readIPv4(_ bytes: UnsafeRawBufferPointer) {
    guard let packet = try? IPv4Packet(validating: bytes) else { return }
    invariant(packet.version == 4, "IPv4 version")
    invariant(
      packet.headerLength >= 20 && packet.headerLength <= packet.totalLength
        && packet.totalLength <= bytes.count, "IPv4 lengths")
    _ = (packet.dscp, packet.ecn, packet.identification, packet.dontFragment)
    _ = (packet.moreFragments, packet.fragmentOffset, packet.isFragment, packet.timeToLive)
    _ = (packet.headerChecksum, packet.isHeaderChecksumValid, packet.protocol.description)
    _ = (packet.source.description, packet.destination.description, packet.options.count)
    invariant(packet.header.count + packet.payload.count == packet.totalLength, "IPv4 payload")

    let value = IPv4Header(packet)
    let emitted = value.emit(payload: packet.payload)
    emitted.withUnsafeBytes { raw in
      guard let again = try? IPv4Packet(validating: raw) else {
        fatalError("invariant violated: an emitted IPv4 header does not parse")
      }
      invariant(IPv4Header(again) == value, "IPv4 header round trip")
      invariant(again.isHeaderChecksumValid, "emitted IPv4 checksum")
      invariant(again.payload.elementsEqual(packet.payload), "IPv4 payload round trip")
    }
    readTransport(packet.payload, protocol: packet.protocol, pseudoHeader: packet.pseudoHeader)
  }

  private static func readIPv6(_ bytes: UnsafeRawBufferPointer) {
    guard let packet = try? IPv6Packet(validating: bytes) else { return }
    invariant(packet.version == 6, "IPv6 version")
    _ = (packet.trafficClass, packet.flowLabel, packet.hopLimit, packet.nextHeader.description)
    _ = (packet.source.description, packet.destination.description)
    _ = (packet.source.isLinkLocal, packet.destination.isMulticast, packet.source.ipv4Mapped)
    invariant(packet.payload.count == packet.payloadLength, "IPv6 payload")

    let value = IPv6Header(packet)
    let emitted = value.emit(payload: packet.payload)
    emitted.withUnsafeBytes { raw in
      guard let again = try? IPv6Packet(validating: raw) else {
        fatalError("invariant violated: an emitted IPv6 header does not parse")
      }
      invariant(IPv6Header(again) == value, "IPv6 header round trip")
    }
    // An address's text form names the same address.
    invariant(IPv6Address(packet.source.description) == packet.source, "IPv6 text round trip")
    readTransport(packet.payload, protocol: packet.nextHeader, pseudoHeader: packet.pseudoHeader)
  }

  private static func readTransport(
    _ bytes: UnsafeRawBufferPointer, protocol number: IPProtocol, pseudoHeader: IPPseudoHeader
  ) {
    switch number {
    case .tcp: readTCP(bytes, pseudoHeader: pseudoHeader)
    case .udp: readUDP(bytes, pseudoHeader: pseudoHeader)
    case .icmp, .icmpv6: readICMP(bytes)
    default: break
    }
  }

  private static func readTCP(_ bytes: UnsafeRawBufferPointer, pseudoHeader: IPPseudoHeader) {
    guard let segment = try? TCPSegment(validating: bytes) else { return }
    _ = (segment.sourcePort, segment.destinationPort, segment.sequenceNumber)
    _ = (segment.acknowledgmentNumber, segment.flags.description, segment.window)
    _ = (segment.checksum, segment.urgentPointer, segment.isChecksumValid(pseudoHeader))
    invariant(
      segment.options.count + 20 == segment.headerLength
        && segment.headerLength + segment.payload.count == bytes.count, "TCP bounds")

    let value = TCPHeader(segment)
    let emitted = value.emit(payload: segment.payload, pseudoHeader: pseudoHeader)
    emitted.withUnsafeBytes { raw in
      guard let again = try? TCPSegment(validating: raw) else {
        fatalError("invariant violated: an emitted TCP header does not parse")
      }
      invariant(TCPHeader(again) == value, "TCP header round trip")
      invariant(again.isChecksumValid(pseudoHeader), "emitted TCP checksum")
    }
  }

  private static func readUDP(_ bytes: UnsafeRawBufferPointer, pseudoHeader: IPPseudoHeader) {
    guard let datagram = try? UDPDatagram(validating: bytes) else { return }
    _ = (datagram.sourcePort, datagram.destinationPort, datagram.checksum)
    _ = datagram.isChecksumValid(pseudoHeader)
    invariant(datagram.datagram.count == datagram.length, "UDP length")
    invariant(datagram.payload.count + 8 == datagram.length, "UDP payload")

    let value = UDPHeader(datagram)
    let emitted = value.emit(payload: datagram.payload, pseudoHeader: pseudoHeader)
    emitted.withUnsafeBytes { raw in
      guard let again = try? UDPDatagram(validating: raw) else {
        fatalError("invariant violated: an emitted UDP header does not parse")
      }
      invariant(UDPHeader(again) == value, "UDP header round trip")
      invariant(again.isChecksumValid(pseudoHeader), "emitted UDP checksum")
      invariant(again.checksum != 0, "an emitted UDP checksum of 0 means none")
    }
    if datagram.sourcePort == DHCPMessage.clientPort || datagram.destinationPort == 67 {
      DHCPMessages.read(datagram.payload)
    }
  }

  private static func readICMP(_ bytes: UnsafeRawBufferPointer) {
    guard let packet = try? ICMPPacket(validating: bytes) else { return }
    _ = (packet.type.description, packet.code, packet.checksum, packet.restOfHeader)
    _ = (packet.identifier, packet.sequenceNumber, packet.payload.count, packet.isChecksumValid)
    guard let echo = ICMPEchoMessage(packet) else { return }
    let emitted = echo.emit(payload: packet.payload)
    emitted.withUnsafeBytes { raw in
      guard let again = try? ICMPPacket(validating: raw), let value = ICMPEchoMessage(again)
      else { fatalError("invariant violated: an emitted echo message does not parse") }
      invariant(value == echo && again.isChecksumValid, "ICMP echo round trip")
    }
  }

  private static func readARP(_ bytes: UnsafeRawBufferPointer) {
    guard let packet = try? ARPPacket(validating: bytes) else { return }
    let value = ARPMessage(packet)
    _ = value.operation.description
    value.emit().withUnsafeBytes { raw in
      guard let again = try? ARPPacket(validating: raw) else {
        fatalError("invariant violated: an emitted ARP packet does not parse")
      }
      invariant(ARPMessage(again) == value, "ARP round trip")
    }
  }
}
