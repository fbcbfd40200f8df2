import PatchbayWire

// NAPT of TCP, UDP and ICMP echo, both ways. Every offset used is checked
// against the packet's end (`IPv4Layout.end`) before the editor touches it.

/// A transport header's fields the NAT reads.
struct TransportFields {
  /// What reading a packet's transport header gave.
  enum Read {
    case fields(TransportFields)
    case refused(NATDropReason)
  }

  /// The fields of `packet`'s transport header, or why the NAT cannot
  /// translate it: a protocol other than TCP, UDP and ICMP, or a header cut short.
  @inline(__always)
  static func read(_ bytes: UnsafeRawBufferPointer, _ packet: IPv4Layout) -> Read {
    guard NATTransport(rawValue: packet.protocolNumber) != nil else {
      return .refused(.unsupportedProtocol)
    }
    guard
      let fields = TransportFields(
        bytes, protocolNumber: packet.protocolNumber, at: packet.transport, end: packet.end)
    else { return .refused(.malformed) }
    return .fields(fields)
  }

  var transport: NATTransport
  /// Offset of the source port (ICMP: the echo identifier).
  var sourcePortOffset: Int
  /// Offset of the destination port (ICMP: none, -1).
  var destinationPortOffset: Int
  var sourcePort: UInt16
  var destinationPort: UInt16
  /// Offset of the checksum, nil when UDP carries none.
  var checksum: Int?
  /// TCP flags (0 otherwise).
  var flags: TCPFlags
  /// ICMP type (0 otherwise).
  var icmpType: UInt8

  /// Reads the transport header at `offset`, nil if the packet is cut short or
  /// of a protocol the NAT does not translate.
  @inline(__always)
  init?(_ bytes: UnsafeRawBufferPointer, protocolNumber: UInt8, at offset: Int, end: Int) {
    switch protocolNumber {
    case NATTransport.tcp.rawValue:
      guard offset + TCPSegment.minimumHeaderLength <= end else { return nil }
      transport = .tcp
      checksum = offset + TCPSegment.Offset.checksum
      flags = TCPFlags(rawValue: bytes[offset + TCPSegment.Offset.flags])
      icmpType = 0
    case NATTransport.udp.rawValue:
      guard offset + UDPDatagram.headerLength <= end else { return nil }
      transport = .udp
      let field = offset + UDPDatagram.Offset.checksum
      checksum = bytes.bigEndianUInt16(at: field) == 0 ? nil : field
      flags = []
      icmpType = 0
    case NATTransport.icmp.rawValue:
      guard offset + ICMPPacket.headerLength <= end else { return nil }
      transport = .icmp
      checksum = offset + ICMPPacket.Offset.checksum
      flags = []
      icmpType = bytes[offset]
      sourcePortOffset = offset + ICMPPacket.Offset.identifier
      destinationPortOffset = -1
      sourcePort = bytes.bigEndianUInt16(at: sourcePortOffset)
      destinationPort = 0
      return
    default:
      return nil
    }
    sourcePortOffset = offset
    destinationPortOffset = offset + 2
    sourcePort = bytes.bigEndianUInt16(at: offset)
    destinationPort = bytes.bigEndianUInt16(at: offset + 2)
  }
}

extension UplinkRouter {
  /// Translates a frame from a lab host to the outside: source to the NAT's
  /// address and port, destination to `relayTo` when relaying (DNS).
  mutating func translateOut(
    _ frame: UnsafeMutableRawBufferPointer, _ packet: IPv4Layout, header: VirtioNetHeader,
    relayTo relay: IPv4Address?, at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard let outside = configuration.outsideAddress else { return drop(.noOutsideAddress) }
    guard !packet.isFragment else { return drop(.fragment) }
    let fields: TransportFields
    switch TransportFields.read(bytes, packet) {
    case .fields(let read): fields = read
    case .refused(let reason): return drop(reason)
    }
    if fields.transport == .icmp && fields.icmpType != ICMPType.echoRequest.rawValue {
      return drop(.unsupportedProtocol)
    }
    guard packet.timeToLive > 1 else {
      sendTimeExceeded(about: bytes, packet, at: now)
      return drop(.ttlExpired)
    }
    let key = NATFlowKey.outbound(
      fields.transport, inside: packet.source, insidePort: fields.sourcePort,
      remote: packet.destination, remotePort: fields.destinationPort)
    let index: Int32
    if let found = table.find(outbound: key) {
      index = found
    } else {
      if fields.transport == .tcp && fields.flags.contains(.rst) { return drop(.noSession) }
      guard
        let opened = table.open(
          fields.transport, inside: packet.source, insidePort: fields.sourcePort,
          insideMAC: MACAddress(unchecked: bytes, at: EthernetFrame.Offset.source),
          remote: relay ?? packet.destination, remotePort: fields.destinationPort,
          originalRemote: packet.destination, originalRemotePort: fields.destinationPort, at: now)
      else { return drop(.portsExhausted) }
      index = opened
      // A connection picked up mid-stream (the kernel's "loose" tracking) counts as established.
      if fields.transport == .tcp && !fields.flags.contains(.syn) {
        table[index].tcpState = .established
      }
    }
    let session = track(
      index, fields, fromInside: true, byteCount: packet.end - packet.ip, at: now)
    let nextHop =
      outside.contains(session.remoteAddress) ? session.remoteAddress : configuration.gateway
    guard let nextHop else { return drop(.unresolved) }
    let editor = PacketEditor(
      bytes: frame, ip: packet.ip, checksum: fields.checksum,
      coversAddresses: fields.transport != .icmp, isPartial: isPartial(header, fields),
      isUDP: fields.transport == .udp)
    _ = editor.decrementTimeToLive()
    editor.setAddress(at: packet.ip + IPv4Packet.Offset.source, to: outside.address)
    editor.setPort(at: fields.sourcePortOffset, to: session.outsidePort)
    if session.remoteAddress != session.originalRemoteAddress {
      editor.setAddress(at: packet.ip + IPv4Packet.Offset.destination, to: session.remoteAddress)
    }
    if fields.destinationPortOffset >= 0 && session.remotePort != fields.destinationPort {
      editor.setPort(at: fields.destinationPortOffset, to: session.remotePort)
    }
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
    _ frame: UnsafeMutableRawBufferPointer, _ packet: IPv4Layout, header: VirtioNetHeader,
    at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard !packet.isFragment else { return drop(.fragment) }
    let fields: TransportFields
    switch TransportFields.read(bytes, packet) {
    case .fields(let read): fields = read
    case .refused(let reason): return drop(reason)
    }
    var remotePort = fields.sourcePort
    var outsidePort = fields.destinationPort
    if fields.transport == .icmp {
      switch fields.icmpType {
      case ICMPType.echoRequest.rawValue:
        return answerEcho(bytes, packet, outside: true)
      case ICMPType.echoReply.rawValue:
        (outsidePort, remotePort) = (fields.sourcePort, 0)
      case ICMPType.destinationUnreachable.rawValue, ICMPType.timeExceeded.rawValue,
        ICMPType.parameterProblem.rawValue:
        return translateErrorIn(frame, packet, header: header, at: now)
      default:
        return ignore()
      }
    }
    let key = NATFlowKey.inbound(
      fields.transport, outsidePort: outsidePort, remote: packet.source, remotePort: remotePort)
    var index = table.find(inbound: key)
    if index == nil {
      guard
        let forward = forwards[UInt32(fields.transport.rawValue) << 16 | UInt32(outsidePort)]
      else { return drop(.unsolicited) }
      if fields.transport == .tcp && !(fields.flags.contains(.syn) && !fields.flags.contains(.ack))
      {
        return drop(.noSession)
      }
      index = table.openForwarded(
        fields.transport, outsidePort: outsidePort, remote: packet.source, remotePort: remotePort,
        inside: forward.insideAddress, insidePort: forward.insidePort,
        insideMAC: insideNeighbours.mac(of: forward.insideAddress) ?? .zero, at: now)
    }
    guard let index else { return drop(.unsolicited) }
    guard packet.timeToLive > 1 else { return drop(.ttlExpired) }
    let session = track(
      index, fields, fromInside: false, byteCount: packet.end - packet.ip, at: now)
    let editor = PacketEditor(
      bytes: frame, ip: packet.ip, checksum: fields.checksum,
      coversAddresses: fields.transport != .icmp, isPartial: isPartial(header, fields),
      isUDP: fields.transport == .udp)
    _ = editor.decrementTimeToLive()
    editor.setAddress(at: packet.ip + IPv4Packet.Offset.destination, to: session.insideAddress)
    if fields.transport == .icmp {
      editor.setPort(at: fields.sourcePortOffset, to: session.insidePort)
    } else {
      editor.setPort(at: fields.destinationPortOffset, to: session.insidePort)
    }
    if session.originalRemoteAddress != session.remoteAddress {
      editor.setAddress(at: packet.ip + IPv4Packet.Offset.source, to: session.originalRemoteAddress)
    }
    if fields.transport != .icmp && session.originalRemotePort != session.remotePort {
      editor.setPort(at: fields.sourcePortOffset, to: session.originalRemotePort)
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
    _ frame: UnsafeMutableRawBufferPointer, _ packet: IPv4Layout, header: VirtioNetHeader,
    at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    let quoted = packet.transport + ICMPPacket.headerLength
    guard let inner = IPv4Layout(quotedIn: bytes, at: quoted, end: packet.end),
      inner.source == configuration.outsideAddress?.address,
      let transport = NATTransport(rawValue: inner.protocolNumber)
    else { return drop(.malformed) }
    let outsidePort: UInt16
    let remotePort: UInt16
    switch transport {
    case .tcp, .udp:
      outsidePort = bytes.bigEndianUInt16(at: inner.transport)
      remotePort = bytes.bigEndianUInt16(at: inner.transport + 2)
    case .icmp:
      guard bytes[inner.transport] == ICMPType.echoRequest.rawValue else { return ignore() }
      outsidePort = bytes.bigEndianUInt16(at: inner.transport + ICMPPacket.Offset.identifier)
      remotePort = 0
    }
    let key = NATFlowKey.inbound(
      transport, outsidePort: outsidePort, remote: inner.destination, remotePort: remotePort)
    guard let index = table.find(inbound: key) else { return drop(.unsolicited) }
    guard packet.timeToLive > 1 else { return drop(.ttlExpired) }
    let session = table[index]
    let outer = PacketEditor(
      bytes: frame, ip: packet.ip, checksum: nil, coversAddresses: false, isPartial: false,
      isUDP: false)
    _ = outer.decrementTimeToLive()
    outer.setAddress(at: packet.ip + IPv4Packet.Offset.destination, to: session.insideAddress)
    let quotedChecksum: Int?
    switch transport {
    case .tcp: quotedChecksum = inner.transport + TCPSegment.Offset.checksum
    case .udp: quotedChecksum = inner.transport + UDPDatagram.Offset.checksum
    case .icmp: quotedChecksum = inner.transport + ICMPPacket.Offset.checksum
    }
    let hasChecksum =
      quotedChecksum.map {
        $0 + 2 <= packet.end && !(transport == .udp && bytes.bigEndianUInt16(at: $0) == 0)
      }
      ?? false
    let quotedEditor = PacketEditor(
      bytes: frame, ip: quoted, checksum: hasChecksum ? quotedChecksum : nil,
      coversAddresses: transport != .icmp, isPartial: false, isUDP: transport == .udp)
    quotedEditor.setAddress(at: quoted + IPv4Packet.Offset.source, to: session.insideAddress)
    if transport == .icmp {
      quotedEditor.setPort(
        at: inner.transport + ICMPPacket.Offset.identifier, to: session.insidePort)
    } else {
      quotedEditor.setPort(at: inner.transport, to: session.insidePort)
      if session.originalRemotePort != session.remotePort {
        quotedEditor.setPort(at: inner.transport + 2, to: session.originalRemotePort)
      }
    }
    if session.originalRemoteAddress != session.remoteAddress {
      quotedEditor.setAddress(
        at: quoted + IPv4Packet.Offset.destination, to: session.originalRemoteAddress)
    }
    // The ICMP checksum covers the whole (small) message: sum it again.
    let icmp = packet.transport
    frame.storeBigEndian(UInt16(0), at: icmp + ICMPPacket.Offset.checksum)
    let message = UnsafeRawBufferPointer(rebasing: bytes[icmp..<packet.end])
    frame.storeBigEndian(InternetChecksum.checksum(message), at: icmp + ICMPPacket.Offset.checksum)
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

  /// True when the frame's transport checksum is left for offload to finish.
  @inline(__always)
  func isPartial(_ header: VirtioNetHeader, _ fields: TransportFields) -> Bool {
    fields.transport != .icmp && header.flags & VirtioNetHeader.needsChecksum != 0
  }

  /// Updates the session's TCP state, reply flag and counters, renews it,
  /// and returns it as stored.
  @inline(__always)
  mutating func track(
    _ index: Int32, _ fields: TransportFields, fromInside: Bool, byteCount: Int, at now: Instant
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
    if fields.transport == .tcp {
      session.tcpState = nextState(of: session, flags: fields.flags, fromInitiator: fromInitiator)
      if fields.flags.contains(.fin) {
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
