import PatchbayCore
import PatchbayWire

/// The `nat` target: a NAT uplink's router (NAPT, ARP, ping, the DHCP server,
/// the DNS relay, port forwards, ICMP errors, and optionally its own DHCP
/// client) fed frames from both sides, with time moving as the input says.
///
/// The input starts with a mode byte: bit 0 gives the router a DHCP client for
/// its outside address instead of a fixed one, bit 1 resolves the gateway up
/// front, bit 2 makes every IPv4 checksum of what goes in right (see below).
/// Then records: a command byte (bit 7: from outside, else from inside; bit 6:
/// a 10-byte virtio-net header follows; 0xFF: a long wait), a time step byte
/// (tenths of a second) and a length-prefixed frame. The router ticks once per
/// second of input time, as the datapath's sweep does, and its outbox is
/// emptied after every frame. It tracks at most 8 sessions, so it evicts.
///
/// Checked: nothing traps; the session table stays within its size and never
/// holds two sessions for one flow; a frame the router rewrites leaves on the
/// right side with the right addresses and one hop less; every frame it sends
/// parses; and with right checksums in, every checksum out is right.
public func fuzzNAT(_ bytes: UnsafeRawBufferPointer) {
  var input = FuzzInput(bytes)
  let mode = input.byte()
  var run = NATRun(
    usesDHCPClient: mode & 1 != 0, resolvesGateway: mode & 2 != 0,
    fixesChecksums: mode & 4 != 0)
  while !input.isAtEnd {
    let command = input.byte()
    if command == 0xFF {
      run.advance(bySeconds: UInt64(input.uint16()))
      continue
    }
    run.advance(byTenths: UInt64(input.byte()))
    var header = VirtioNetHeader.plain
    if command & 0x40 != 0 {
      let raw = input.take(VirtioNetHeader.byteCount)
      if raw.count == VirtioNetHeader.byteCount {
        header = VirtioNetHeader(unchecked: raw.baseAddress!)
      }
    }
    run.receive(input.chunk(), fromOutside: command & 0x80 != 0, header: header)
  }
}

/// A router under test, its clock, and what the harness knows of its input.
private struct NATRun {
  static let inside = IPv4CIDR("10.0.0.254/24")!
  static let insideMAC = MACAddress(0x02, 0, 0, 0, 0, 0xFE)
  static let outside = IPv4CIDR("192.0.2.10/24")!
  static let outsideMAC = MACAddress(0x02, 0, 0, 0, 1, 0x0A)
  static let gateway = IPv4Address(192, 0, 2, 1)
  static let gatewayMAC = MACAddress(0x02, 0, 0, 0, 1, 0x01)
  static let maximumSessions = 8

  var router: UplinkRouter
  var now = Instant.seconds(1)
  var lastTick = Instant.seconds(1)
  let fixesChecksums: Bool
  let usesDHCPClient: Bool
  /// Copy of the frame being handled: the router rewrites frames in place.
  var frame: [UInt8] = []

  init(usesDHCPClient: Bool, resolvesGateway: Bool, fixesChecksums: Bool) {
    self.fixesChecksums = fixesChecksums
    self.usesDHCPClient = usesDHCPClient
    router = UplinkRouter(
      configuration: UplinkRouterConfiguration(
        insideAddress: NATRun.inside, insideMAC: NATRun.insideMAC,
        outsideAddress: usesDHCPClient ? nil : NATRun.outside, outsideUsesDHCP: usesDHCPClient,
        outsideMAC: NATRun.outsideMAC, gateway: usesDHCPClient ? nil : NATRun.gateway,
        dhcp: DHCPServerConfiguration(
          serverAddress: NATRun.inside.address, subnet: NATRun.inside,
          rangeStart: IPv4Address(10, 0, 0, 100), rangeEnd: IPv4Address(10, 0, 0, 103),
          lease: .seconds(60), router: NATRun.inside.address,
          domainNameServer: NATRun.inside.address,
          fixedLeases: [MACAddress(0x02, 0, 0, 0, 0, 0x05): IPv4Address(10, 0, 0, 5)]),
        dnsServer: IPv4Address(192, 0, 2, 53),
        forwards: [
          NATForward(
            transport: .tcp, outsidePort: 8080, insideAddress: IPv4Address(10, 0, 0, 1),
            insidePort: 80),
          NATForward(
            transport: .udp, outsidePort: 5353, insideAddress: IPv4Address(10, 0, 0, 2),
            insidePort: 53),
        ],
        neighbours: [IPv4Address(10, 0, 0, 1): MACAddress(0x02, 0, 0, 0, 0, 0x01)],
        maximumSessions: NATRun.maximumSessions))
    router.start(at: now)
    drainOutput()
    if resolvesGateway && !usesDHCPClient {
      let reply = ARPMessage(
        operation: .reply, senderHardwareAddress: NATRun.gatewayMAC,
        senderProtocolAddress: NATRun.gateway, targetHardwareAddress: NATRun.outsideMAC,
        targetProtocolAddress: NATRun.outside.address)
      let bytes = EthernetHeader(
        destination: NATRun.outsideMAC, source: NATRun.gatewayMAC, payloadType: .arp
      ).emit(payload: reply.emit())
      bytes.withUnsafeBytes { receive($0, fromOutside: true, header: .plain) }
    }
  }

  mutating func advance(byTenths tenths: UInt64) {
    now = now + .milliseconds(Int64(tenths) * 100)
    tickIfDue()
  }

  mutating func advance(bySeconds seconds: UInt64) {
    now = now + .seconds(Int64(seconds))
    tickIfDue()
  }

  /// Ticks once a second of input time, as the datapath's sweep does.
  private mutating func tickIfDue() {
    guard now.nanoseconds(since: lastTick) >= 1_000_000_000 else { return }
    lastTick = now
    router.tick(at: now)
    drainOutput()
    checkTable()
  }

  mutating func receive(
    _ bytes: UnsafeRawBufferPointer, fromOutside: Bool, header: VirtioNetHeader
  ) {
    frame.removeAll(keepingCapacity: true)
    frame.append(contentsOf: bytes)
    // Right checksums in: plain headers too, since a partial checksum is by design not right.
    let header = fixesChecksums ? .plain : header
    if fixesChecksums { frame.withUnsafeMutableBytes { IPv4Checksums.fix($0) } }
    let before = frame
    let verdict = frame.withUnsafeMutableBytes { buffer in
      fromOutside
        ? router.receiveFromOutside(buffer, header: header, at: now)
        : router.receiveFromInside(buffer, header: header, at: now)
    }
    switch verdict {
    case .toOutside:
      invariant(!fromOutside, "a frame from outside was sent back outside")
      checkRewritten(from: before, source: NATRun.outsideMAC)
      frame.withUnsafeBytes { bytes in
        invariant(
          usesDHCPClient
            || IPv4Address(rawValue: bytes.bigEndianUInt32(at: 26))
              == NATRun.outside.address,
          "a translated frame leaves with another source")
      }
    case .toInside:
      invariant(fromOutside, "a frame from inside was sent back inside")
      checkRewritten(from: before, source: NATRun.insideMAC)
    case .consumed, .dropped:
      break
    }
    drainOutput()
    checkTable()
  }

  /// A frame the router translated: its new source MAC, one hop less, checksums right.
  private func checkRewritten(from before: [UInt8], source: MACAddress) {
    frame.withUnsafeBytes { bytes in
      invariant(bytes.count == before.count, "a translated frame changed length")
      invariant(
        MACAddress(unchecked: bytes, at: EthernetFrame.Offset.source) == source,
        "a translated frame leaves with the wrong source MAC")
      let ttl = EthernetFrame.headerLength + IPv4Packet.Offset.timeToLive
      invariant(bytes[ttl] &+ 1 == before[ttl], "a translated frame did not lose one hop")
      invariant(
        !fixesChecksums || IPv4Checksums.areValid(bytes),
        "a translated frame leaves with a wrong checksum")
    }
  }

  /// Empties the outbox; every frame in it must parse, with right checksums when the input had them.
  private mutating func drainOutput() {
    for made in router.takeOutput() {
      made.bytes.withUnsafeBytes { bytes in
        guard let ethernet = try? EthernetFrame(validating: bytes) else {
          fatalError("invariant violated: the router sent an unparseable frame")
        }
        WireViews.read(frame: bytes)
        if ethernet.payloadType == .ipv4 {
          invariant((try? IPv4Packet(validating: ethernet.payload)) != nil, "unparseable IPv4")
          invariant(
            !fixesChecksums || made.header != .plain || IPv4Checksums.areValid(bytes),
            "the router sent a frame with a wrong checksum")
        }
        if ethernet.payloadType == .arp {
          invariant((try? ARPPacket(validating: ethernet.payload)) != nil, "unparseable ARP")
        }
      }
    }
  }

  /// The session table within its size, one session per flow each way.
  private func checkTable() {
    let sessions = router.sessions
    invariant(sessions.count == router.table.count, "session count")
    invariant(sessions.count <= NATRun.maximumSessions, "more sessions than room")
    var outbound = Set<[UInt32]>()
    var inbound = Set<[UInt32]>()
    for session in sessions {
      let transport = UInt32(session.transport.rawValue)
      let leaving = [
        transport, session.insideAddress.rawValue, UInt32(session.insidePort),
        session.originalRemoteAddress.rawValue, UInt32(session.originalRemotePort),
      ]
      let returning = [
        transport, UInt32(session.outsidePort), session.remoteAddress.rawValue,
        UInt32(session.remotePort),
      ]
      invariant(outbound.insert(leaving).inserted, "two sessions for one leaving flow: \(session)")
      invariant(
        inbound.insert(returning).inserted, "two sessions for one returning flow: \(session)")
    }
    for lease in router.leases(at: now) {
      invariant(NATRun.inside.contains(lease.address), "a lease outside the lab's subnet")
    }
  }
}
