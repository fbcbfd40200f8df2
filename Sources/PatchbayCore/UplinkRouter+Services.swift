import PatchbayWire

// What the router answers itself: ARP for its two addresses, ping, DHCP, the
// DNS relay's entry, time-exceeded errors; and ARP resolution with held
// frames. All slow path: these build frames as arrays.

extension UplinkRouter {
  /// A frame for the router's inside address or a broadcast: DHCP, ping, DNS.
  mutating func local(
    _ frame: UnsafeMutableRawBufferPointer, _ packet: MutableIPv4Packet, header: VirtioNetHeader,
    at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard !packet.isFragment else { return drop(.fragment) }
    let isOwn = packet.destination == configuration.insideAddress.address
    let message = packet.transportBytes
    switch packet.protocol {
    case .udp:
      guard message.count >= UDPDatagram.headerLength else { return drop(.malformed) }
      let port = UnsafeRawBufferPointer(message).bigEndianUInt16(
        at: UDPDatagram.Offset.destinationPort)
      if port == 67 { return answerDHCP(bytes, packet, at: now) }
      if port == 53, isOwn, let server = configuration.dnsServer {
        return translateOut(frame, packet, header: header, relayTo: server, at: now)
      }
    case .tcp:
      guard message.count >= TCPSegment.minimumHeaderLength else { return drop(.malformed) }
      let port = UnsafeRawBufferPointer(message).bigEndianUInt16(
        at: TCPSegment.Offset.destinationPort)
      if port == 53, isOwn, let server = configuration.dnsServer {
        return translateOut(frame, packet, header: header, relayTo: server, at: now)
      }
    case .icmp:
      if isOwn, message.count >= ICMPPacket.headerLength,
        message[ICMPPacket.Offset.type] == ICMPType.echoRequest.rawValue
      {
        return answerEcho(bytes, packet, outside: false)
      }
    default:
      break
    }
    return ignore()
  }

  /// ARP from the lab: answer for the inside address, learn who asks us.
  mutating func insideARP(_ bytes: UnsafeRawBufferPointer, at now: Instant) -> RouterVerdict {
    guard
      let arp = try? ARPPacket(
        validating: UnsafeRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...]))
    else { return drop(.malformed) }
    let message = ARPMessage(arp)
    let ownAddress = configuration.insideAddress.address
    if configuration.insideAddress.contains(message.senderProtocolAddress),
      message.senderProtocolAddress != ownAddress,
      message.targetProtocolAddress == ownAddress
        || insideNeighbours.waiting[message.senderProtocolAddress] != nil
    {
      release(
        insideNeighbours.learn(
          message.senderProtocolAddress, at: message.senderHardwareAddress, now: now),
        to: message.senderHardwareAddress)
    }
    guard message.operation == .request, message.targetProtocolAddress == ownAddress else {
      return ignore()
    }
    emitARPReply(to: message, from: configuration.insideMAC, outside: false)
    return .consumed
  }

  /// ARP on the physical network: answer for the NAT's address, learn who answers us.
  mutating func outsideARP(_ bytes: UnsafeRawBufferPointer, at now: Instant) -> RouterVerdict {
    guard let outside = configuration.outsideAddress,
      let arp = try? ARPPacket(
        validating: UnsafeRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...]))
    else { return ignore() }
    let message = ARPMessage(arp)
    guard message.targetProtocolAddress == outside.address else { return ignore() }
    if message.senderProtocolAddress != .any {
      release(
        outsideNeighbours.learn(
          message.senderProtocolAddress, at: message.senderHardwareAddress, now: now),
        to: message.senderHardwareAddress)
    }
    guard message.operation == .request else { return .consumed }
    emitARPReply(to: message, from: configuration.outsideMAC, outside: true)
    return .consumed
  }

  /// Answers a ping to one of the router's addresses.
  mutating func answerEcho(
    _ bytes: UnsafeRawBufferPointer, _ packet: MutableIPv4Packet, outside: Bool
  )
    -> RouterVerdict
  {
    var reply = Array(bytes[0..<EthernetFrame.headerLength + packet.totalLength])
    let (source, destination) = (packet.source, packet.destination)
    let isBuilt = reply.withUnsafeMutableBytes { out in
      // A copy of a packet the caller validated: the view over it cannot fail,
      // and if it ever did, nothing half-built may leave.
      guard let echo = UplinkRouter.ipv4Packet(in: out) else { return false }
      let sender = MACAddress(
        unchecked: UnsafeRawBufferPointer(out), at: EthernetFrame.Offset.source)
      sender.store(into: out, at: EthernetFrame.Offset.destination)
      (outside ? configuration.outsideMAC : configuration.insideMAC)
        .store(into: out, at: EthernetFrame.Offset.source)
      echo.setSource(destination)
      echo.setDestination(source)
      echo.setTimeToLive(64)
      echo.updateHeaderChecksum()
      let icmp = echo.transportBytes
      let checksum = UnsafeRawBufferPointer(icmp).bigEndianUInt16(at: ICMPPacket.Offset.checksum)
      icmp[ICMPPacket.Offset.type] = ICMPType.echoReply.rawValue
      let updated = InternetChecksum.update(
        checksum, old: UInt16(ICMPType.echoRequest.rawValue) << 8,
        new: UInt16(ICMPType.echoReply.rawValue) << 8)
      // RFC 1624's update yields 0 where a reply of all zero bytes (identifier,
      // sequence and payload 0) needs 0xffff; 0xffff is right whenever 0 is.
      icmp.storeBigEndian(updated == 0 ? 0xFFFF : updated, at: ICMPPacket.Offset.checksum)
      return true
    }
    guard isBuilt else { return drop(.malformed) }
    outbox.append(RouterFrame(leavesOutside: outside, bytes: reply))
    statistics.answered &+= 1
    return .consumed
  }

  /// Tells a lab host its datagram's TTL ran out here (ICMP time exceeded),
  /// quoting its IP header and 8 bytes, as RFC 792 asks.
  mutating func sendTimeExceeded(
    about bytes: UnsafeRawBufferPointer, _ packet: MutableIPv4Packet, at now: Instant
  ) {
    let view = packet.packet
    let quotedEnd = min(view.totalLength, view.headerLength + 8)
    var icmp = [UInt8](repeating: 0, count: ICMPPacket.headerLength)
    icmp[0] = ICMPType.timeExceeded.rawValue
    icmp += view.bytes[..<quotedEnd]
    icmp.withUnsafeMutableBytes { out in
      out.storeBigEndian(InternetChecksum.checksum(UnsafeRawBufferPointer(out)), at: 2)
    }
    let ip = IPv4Header(
      dontFragment: false, protocol: .icmp, source: configuration.insideAddress.address,
      destination: packet.source
    ).emit(payload: icmp)
    let ethernet = EthernetHeader(
      destination: MACAddress(unchecked: bytes, at: EthernetFrame.Offset.source),
      source: configuration.insideMAC, payloadType: .ipv4)
    outbox.append(RouterFrame(leavesOutside: false, bytes: ethernet.emit(payload: ip)))
  }

  /// Answers a DHCP client of the lab.
  mutating func answerDHCP(
    _ bytes: UnsafeRawBufferPointer, _ packet: MutableIPv4Packet, at now: Instant
  ) -> RouterVerdict {
    guard dhcpServer != nil else { return ignore() }
    let payload = UnsafeRawBufferPointer(
      rebasing: packet.transportBytes[UDPDatagram.headerLength...])
    guard let message = try? DHCPMessage(validating: payload) else { return drop(.malformed) }
    guard let reply = dhcpServer!.reply(to: message, at: now) else { return .consumed }
    if reply.messageType == .ack, reply.yourAddress != .any {
      release(
        insideNeighbours.learn(reply.yourAddress, at: reply.clientHardwareAddress, now: now),
        to: reply.clientHardwareAddress)
    }
    let server = configuration.insideAddress.address
    // Replies go to the client's address when it has one in use (renewing),
    // else to everyone: a client without an address cannot take unicast IP.
    let toClient = message.clientAddress != .any
    let destination = toClient ? message.clientAddress : IPv4Address.broadcast
    let udp = UDPHeader(sourcePort: 67, destinationPort: 68).emit(
      payload: reply.emit(), pseudoHeader: .ipv4(source: server, destination: destination))
    let ip = IPv4Header(
      dontFragment: false, protocol: .udp, source: server, destination: destination
    ).emit(payload: udp)
    let ethernet = EthernetHeader(
      destination: toClient ? message.clientHardwareAddress : .broadcast,
      source: configuration.insideMAC, payloadType: .ipv4)
    outbox.append(RouterFrame(leavesOutside: false, bytes: ethernet.emit(payload: ip)))
    statistics.answered &+= 1
    return .consumed
  }

  /// Keeps a copy of a translated frame until its next hop answers ARP.
  mutating func hold(
    _ frame: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, for address: IPv4Address,
    outside: Bool, at now: Instant
  ) -> RouterVerdict {
    let copy = RouterFrame(leavesOutside: outside, header: header, bytes: Array(frame))
    let result =
      outside
      ? outsideNeighbours.hold(copy, for: address, now: now)
      : insideNeighbours.hold(copy, for: address, now: now)
    if result.ask {
      if outside { askOutside(address, at: now) } else { askInside(address, at: now) }
    }
    return result.accepted ? .consumed : drop(.unresolved)
  }

  /// Sends frames that waited for `mac`, addressed to it.
  mutating func release(_ frames: [RouterFrame], to mac: MACAddress) {
    for var frame in frames {
      frame.bytes.withUnsafeMutableBytes {
        mac.store(into: $0, at: EthernetFrame.Offset.destination)
      }
      outbox.append(frame)
    }
  }

  /// Asks the physical network who has `address`.
  mutating func askOutside(_ address: IPv4Address, at now: Instant) {
    guard let outside = configuration.outsideAddress else { return }
    emitARPRequest(
      for: address, from: configuration.outsideMAC, address: outside.address, outside: true)
  }

  /// Asks the lab who has `address`.
  mutating func askInside(_ address: IPv4Address, at now: Instant) {
    emitARPRequest(
      for: address, from: configuration.insideMAC,
      address: configuration.insideAddress.address, outside: false)
  }

  private mutating func emitARPRequest(
    for target: IPv4Address, from mac: MACAddress, address: IPv4Address, outside: Bool
  ) {
    let arp = ARPMessage(
      operation: .request, senderHardwareAddress: mac, senderProtocolAddress: address,
      targetHardwareAddress: .zero, targetProtocolAddress: target)
    let frame = EthernetHeader(destination: .broadcast, source: mac, payloadType: .arp)
      .emit(payload: arp.emit())
    outbox.append(RouterFrame(leavesOutside: outside, bytes: frame))
  }

  private mutating func emitARPReply(to request: ARPMessage, from mac: MACAddress, outside: Bool) {
    let arp = ARPMessage(
      operation: .reply, senderHardwareAddress: mac,
      senderProtocolAddress: request.targetProtocolAddress,
      targetHardwareAddress: request.senderHardwareAddress,
      targetProtocolAddress: request.senderProtocolAddress)
    let frame = EthernetHeader(
      destination: request.senderHardwareAddress, source: mac, payloadType: .arp
    ).emit(payload: arp.emit())
    outbox.append(RouterFrame(leavesOutside: outside, bytes: frame))
    statistics.answered &+= 1
  }
}
