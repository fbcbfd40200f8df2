import PatchbayWire

// NAPT of TCP, UDP and ICMP echo, both ways, through Wire's views: the IPv4
// packet (`MutableIPv4Packet`, validated against the frame), its transport
// header (`MutableTransportHeader`, checked to hold the fields it edits) and,
// in an ICMP error, the quoted header (`QuotedIPv4Header`). The views keep
// every checksum right as they rewrite.

/// Why the NAT refuses a packet, thrown where translation reads it.
extension NATDropReason: Error {}

extension MutableTransportHeader {
  /// `packet`'s transport header viewed for translation, read the same way in
  /// both directions; throws why the NAT cannot translate it: a fragment, a
  /// protocol other than TCP, UDP and ICMP, or a header cut short. `header`
  /// says whether a TCP or UDP checksum was left for offload to finish.
  @inline(__always)
  init(translating packet: MutableIPv4Packet, header: VirtioNetHeader) throws(NATDropReason) {
    guard !packet.isFragment else { throw .fragment }
    guard NATTransport(rawValue: packet.protocol.rawValue) != nil else {
      throw .unsupportedProtocol
    }
    let partial = header.flags & VirtioNetHeader.needsChecksum != 0
    guard
      let transport = MutableTransportHeader(
        packet.transportBytes, protocol: packet.protocol, partialChecksum: partial)
    else { throw .malformed }
    self = transport
  }
}

extension NATTransport {
  /// The NAT's name for a transport header's protocol.
  @inline(__always)
  init(_ kind: MutableTransportHeader.Kind) {
    switch kind {
    case .tcp: self = .tcp
    case .udp: self = .udp
    case .icmp: self = .icmp
    }
  }
}

extension UplinkRouter {
  /// Translates a frame from a lab host to the outside: source to the NAT's
  /// address and port, destination to `relayTo` when relaying (DNS).
  mutating func translateOut(
    _ frame: UnsafeMutableRawBufferPointer, _ packet: MutableIPv4Packet, header: VirtioNetHeader,
    relayTo relay: IPv4Address?, at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard let outside = configuration.outsideAddress else { return drop(.noOutsideAddress) }
    let transport: MutableTransportHeader
    do { transport = try .init(translating: packet, header: header) } catch { return drop(error) }
    let kind = NATTransport(transport.kind)
    if kind == .icmp && transport.icmpType != .echoRequest { return drop(.unsupportedProtocol) }
    guard packet.timeToLive > 1 else {
      sendTimeExceeded(about: bytes, packet, at: now)
      return drop(.ttlExpired)
    }
    let sourcePort = transport.sourcePort
    let destinationPort = transport.destinationPort
    let flags = transport.flags
    let key = NATFlowKey.outbound(
      kind, inside: packet.source, insidePort: sourcePort,
      remote: packet.destination, remotePort: destinationPort)
    let index: Int32
    if let found = table.find(outbound: key) {
      index = found
    } else {
      if kind == .tcp && flags.contains(.rst) { return drop(.noSession) }
      guard
        let opened = table.open(
          kind, inside: packet.source, insidePort: sourcePort,
          insideMAC: MACAddress(unchecked: bytes, at: EthernetFrame.Offset.source),
          remote: relay ?? packet.destination, remotePort: destinationPort,
          originalRemote: packet.destination, originalRemotePort: destinationPort, at: now)
      else { return drop(.portsExhausted) }
      index = opened
      // A connection picked up mid-stream (the kernel's "loose" tracking) counts as established.
      if kind == .tcp && !flags.contains(.syn) {
        table[index].tcpState = .established
      }
    }
    let session = track(
      index, kind, flags: flags, fromInside: true, byteCount: packet.totalLength, at: now)
    let nextHop =
      outside.contains(session.remoteAddress) ? session.remoteAddress : configuration.gateway
    guard let nextHop else { return drop(.unresolved) }
    _ = packet.decrementTimeToLive()
    packet.rewriteSource(outside.address, transport: transport)
    transport.setSourcePort(session.outsidePort)
    if session.remoteAddress != session.originalRemoteAddress {
      packet.rewriteDestination(session.remoteAddress, transport: transport)
    }
    if session.remotePort != destinationPort { transport.setDestinationPort(session.remotePort) }
    configuration.outsideMAC.store(into: frame, at: EthernetFrame.Offset.source)
    statistics.translatedOut &+= 1
    guard let mac = outsideNeighbours.mac(of: nextHop) else {
      return hold(frame, header: header, for: nextHop, outside: true, at: now)
    }
    mac.store(into: frame, at: EthernetFrame.Offset.destination)
    return .toOutside
  }

  /// Translates a frame from outside back to the lab host its session belongs
  /// to, opening a session first for a port forward.
  mutating func translateIn(
    _ frame: UnsafeMutableRawBufferPointer, _ packet: MutableIPv4Packet, header: VirtioNetHeader,
    at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    let transport: MutableTransportHeader
    do { transport = try .init(translating: packet, header: header) } catch { return drop(error) }
    let kind = NATTransport(transport.kind)
    let flags = transport.flags
    var remotePort = transport.sourcePort
    var outsidePort = transport.destinationPort
    if kind == .icmp {
      switch transport.icmpType {
      case .echoRequest:
        return answerEcho(bytes, packet, outside: true)
      case .echoReply:
        (outsidePort, remotePort) = (transport.sourcePort, 0)
      case .destinationUnreachable, .timeExceeded, .parameterProblem:
        return translateErrorIn(frame, packet, header: header, at: now)
      default:
        return ignore()
      }
    }
    let key = NATFlowKey.inbound(
      kind, outsidePort: outsidePort, remote: packet.source, remotePort: remotePort)
    var index = table.find(inbound: key)
    if index == nil {
      guard let forward = forwards[UInt32(kind.rawValue) << 16 | UInt32(outsidePort)]
      else { return drop(.unsolicited) }
      if kind == .tcp && !(flags.contains(.syn) && !flags.contains(.ack)) {
        return drop(.noSession)
      }
      index = table.openForwarded(
        kind, outsidePort: outsidePort, remote: packet.source, remotePort: remotePort,
        inside: forward.insideAddress, insidePort: forward.insidePort,
        insideMAC: insideNeighbours.mac(of: forward.insideAddress) ?? .zero, at: now)
    }
    guard let index else { return drop(.unsolicited) }
    guard packet.timeToLive > 1 else { return drop(.ttlExpired) }
    let session = track(
      index, kind, flags: flags, fromInside: false, byteCount: packet.totalLength, at: now)
    _ = packet.decrementTimeToLive()
    packet.rewriteDestination(session.insideAddress, transport: transport)
    if kind == .icmp {
      transport.setSourcePort(session.insidePort)
    } else {
      transport.setDestinationPort(session.insidePort)
    }
    if session.originalRemoteAddress != session.remoteAddress {
      packet.rewriteSource(session.originalRemoteAddress, transport: transport)
    }
    if kind != .icmp && session.originalRemotePort != session.remotePort {
      transport.setSourcePort(session.originalRemotePort)
    }
    statistics.translatedIn &+= 1
    return deliverInside(frame, header: header, session: index, at: now)
  }

  /// Translates an ICMP error about a translated datagram (port unreachable,
  /// fragmentation needed, time exceeded) back to the inside host that sent it:
  /// the outer destination and the quoted datagram's source become the inside
  /// host's again, with every checksum (outer IP, quoted IP, quoted transport
  /// where quoted, ICMP) kept right.
  mutating func translateErrorIn(
    _ frame: UnsafeMutableRawBufferPointer, _ packet: MutableIPv4Packet, header: VirtioNetHeader,
    at now: Instant
  ) -> RouterVerdict {
    // The ICMP message; init(translating:header:) proved it holds its 8-byte header.
    let message = packet.transportBytes
    guard
      let inner = try? QuotedIPv4Header(
        validating: UnsafeMutableRawBufferPointer(rebasing: message[ICMPPacket.headerLength...])),
      inner.source == configuration.outsideAddress?.address,
      let transport = NATTransport(rawValue: inner.protocol.rawValue),
      let quoted = MutableTransportHeader(quoted: inner.transportBytes, protocol: inner.protocol)
    else { return drop(.malformed) }
    let outsidePort: UInt16
    let remotePort: UInt16
    switch transport {
    case .tcp, .udp:
      outsidePort = quoted.sourcePort
      remotePort = quoted.destinationPort
    case .icmp:
      guard quoted.icmpType == .echoRequest else { return ignore() }
      outsidePort = quoted.sourcePort
      remotePort = 0
    }
    let key = NATFlowKey.inbound(
      transport, outsidePort: outsidePort, remote: inner.destination, remotePort: remotePort)
    guard let index = table.find(inbound: key) else { return drop(.unsolicited) }
    guard packet.timeToLive > 1 else { return drop(.ttlExpired) }
    let session = table[index]
    _ = packet.decrementTimeToLive()
    // The ICMP checksum is summed again below, so the outer rewrite keeps only the header's.
    packet.rewriteDestination(session.insideAddress, transport: nil)
    inner.rewriteSource(session.insideAddress, transport: quoted)
    quoted.setSourcePort(session.insidePort)
    if transport != .icmp && session.originalRemotePort != session.remotePort {
      quoted.setDestinationPort(session.originalRemotePort)
    }
    if session.originalRemoteAddress != session.remoteAddress {
      inner.rewriteDestination(session.originalRemoteAddress, transport: quoted)
    }
    // The ICMP checksum covers the whole (small) message: sum it again.
    message.storeBigEndian(UInt16(0), at: ICMPPacket.Offset.checksum)
    message.storeBigEndian(
      InternetChecksum.checksum(UnsafeRawBufferPointer(message)), at: ICMPPacket.Offset.checksum)
    statistics.icmpErrorsTranslated &+= 1
    return deliverInside(frame, header: header, session: index, at: now)
  }

  /// Addresses a translated frame to its inside host, or holds it while ARP
  /// finds a host the router has not heard from (a port forward's target).
  mutating func deliverInside(
    _ frame: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, session index: Int32,
    at now: Instant
  ) -> RouterVerdict {
    configuration.insideMAC.store(into: frame, at: EthernetFrame.Offset.source)
    var mac = table[index].insideMAC
    if mac == .zero {
      guard let known = insideNeighbours.mac(of: table[index].insideAddress) else {
        return hold(frame, header: header, for: table[index].insideAddress, outside: false, at: now)
      }
      mac = known
      table[index].insideMAC = known
    }
    mac.store(into: frame, at: EthernetFrame.Offset.destination)
    return .toInside
  }

  /// Updates the session's TCP state, reply flag and counters, renews it,
  /// and returns it as stored.
  @inline(__always)
  mutating func track(
    _ index: Int32, _ transport: NATTransport, flags: TCPFlags, fromInside: Bool, byteCount: Int,
    at now: Instant
  ) -> NATSession {
    var session = table[index]
    // The side that opened the connection: inside, unless it came through a forward.
    let fromInitiator = fromInside != session.isForwarded
    if fromInside {
      session.outboundPackets &+= 1
      session.outboundBytes &+= UInt64(byteCount)
    } else {
      session.inboundPackets &+= 1
      session.inboundBytes &+= UInt64(byteCount)
    }
    if !fromInitiator { session.hasReply = true }
    if transport == .tcp {
      session.tcpState = nextState(of: session, flags: flags, fromInitiator: fromInitiator)
      if flags.contains(.fin) {
        session.finMask |= fromInitiator ? 1 : 2
      }
      if session.tcpState == .synSent { session.finMask = 0 }
    }
    table.store(session, at: index, usedAt: now)
    return session
  }

  /// The TCP state after a segment with `flags`, a simplified form of the
  /// kernel's conntrack state table.
  func nextState(of session: NATSession, flags: TCPFlags, fromInitiator: Bool) -> NATTCPState {
    if flags.contains(.rst) { return .close }
    let state = session.tcpState
    if flags.contains(.syn) && !flags.contains(.ack) && fromInitiator
      && (state == .close || state == .timeWait)
    {
      return .synSent
    }
    if flags.contains(.fin) {
      let mask = session.finMask | (fromInitiator ? 1 : 2)
      return mask == 3 ? .lastAck : .finWait
    }
    switch state {
    case .synSent:
      return !fromInitiator && flags.contains(.syn) && flags.contains(.ack) ? .synReceived : state
    case .synReceived:
      return fromInitiator && flags.contains(.ack) ? .established : state
    case .lastAck:
      return flags.contains(.ack) ? .timeWait : state
    default:
      return state
    }
  }
}
