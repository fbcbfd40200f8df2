import PatchbayWire

/// What the datapath does with a frame the router was given.
public enum RouterVerdict: Sendable, Equatable {
  /// Rewritten in place: send it out of the physical NIC.
  case toOutside
  /// Rewritten in place: switch it into the lab as received on the uplink port.
  case toInside
  /// Answered, held for ARP, or of no interest: nothing more to do with it.
  case consumed
  /// Dropped, counted with its reason.
  case dropped(NATDropReason)
}

/// The virtual router of a NAT uplink: the lab's gateway on one side, the
/// NAT's own address on the physical network on the other.
///
/// Pure: it is handed frames and the time, rewrites frames in place (NAPT with
/// incremental checksum updates), and leaves the frames it makes itself (ARP,
/// ping and DHCP answers, frames released by ARP) in an outbox the datapath
/// empties. Translating a frame of a known session allocates nothing.
public struct UplinkRouter: Sendable {
  /// How the router was set up.
  public internal(set) var configuration: UplinkRouterConfiguration
  /// The connection-tracking table.
  public internal(set) var table: NATSessionTable
  /// The lab-side DHCP server, if configured.
  public internal(set) var dhcpServer: DHCPServer?
  /// Counters.
  public internal(set) var statistics = UplinkRouterStatistics()
  var insideNeighbours: NeighbourTable
  var outsideNeighbours: NeighbourTable
  var outbox: [RouterFrame] = []
  let forwards: [UInt32: NATForward]
  /// The NAT's own DHCP client on the physical network (`address: dhcp`).
  public internal(set) var dhcpClient: DHCPClient?
  // The gateway the topology names; without one, the DHCP lease's router.
  let configuredGateway: IPv4Address?

  /// The neighbour tables' fill and evictions.
  public var neighbourStatistics: NeighbourStatistics {
    NeighbourStatistics(
      inside: insideNeighbours.learnedCount, outside: outsideNeighbours.learnedCount,
      insideEvicted: insideNeighbours.evicted, outsideEvicted: outsideNeighbours.evicted,
      capacity: outsideNeighbours.capacity)
  }

  /// A router with an empty session table.
  public init(configuration: UplinkRouterConfiguration) {
    self.configuration = configuration
    table = NATSessionTable(
      capacity: configuration.maximumSessions, timeouts: configuration.timeouts,
      reservedPorts: configuration.forwards.map { ($0.transport, $0.outsidePort) })
    dhcpServer = configuration.dhcp.map(DHCPServer.init(configuration:))
    insideNeighbours = NeighbourTable(
      static: configuration.neighbours, capacity: configuration.maximumNeighbours)
    outsideNeighbours = NeighbourTable(capacity: configuration.maximumNeighbours)
    outsideNeighbours.pinned = configuration.gateway
    var forwards: [UInt32: NATForward] = [:]
    for forward in configuration.forwards {
      forwards[UInt32(forward.transport.rawValue) << 16 | UInt32(forward.outsidePort)] = forward
    }
    self.forwards = forwards
    configuredGateway = configuration.gateway
    if configuration.outsideUsesDHCP {
      dhcpClient = DHCPClient(hardwareAddress: configuration.outsideMAC, hostName: "patchbay-nat")
    }
  }

  /// True when frames wait in the outbox.
  @inline(__always)
  public var hasOutput: Bool { !outbox.isEmpty }

  /// Empties the outbox: the frames to send, in order.
  public mutating func takeOutput() -> [RouterFrame] {
    let frames = outbox
    outbox.removeAll()
    return frames
  }

  /// Sessions, least recently used first.
  public var sessions: [NATSession] { table.sessions }

  /// The lab-side DHCP leases in force at `now`.
  public func leases(at now: Instant) -> [DHCPLease] { dhcpServer?.leases(at: now) ?? [] }

  /// Starts resolving the gateway, so the first frame out need not wait.
  public mutating func start(at now: Instant) {
    runDHCPClient(at: now)
    if let gateway = configuration.gateway { askOutside(gateway, at: now) }
  }

  /// Once a second or so: expires idle sessions, gives up on neighbours that
  /// never answered, and asks again about the others.
  public mutating func tick(at now: Instant) {
    runDHCPClient(at: now)
    table.expire(at: now)
    let insideSweep = insideNeighbours.sweep(at: now)
    count(.unresolved, times: insideSweep.expired)
    for address in insideSweep.ask { askInside(address, at: now) }
    outsideNeighbours.pinned = configuration.gateway
    let outsideSweep = outsideNeighbours.sweep(at: now)
    count(.unresolved, times: outsideSweep.expired)
    for address in outsideSweep.ask { askOutside(address, at: now) }
    if let gateway = configuration.gateway, outsideNeighbours.mac(of: gateway) == nil,
      outsideNeighbours.waiting[gateway] == nil
    {
      askOutside(gateway, at: now)
    }
  }

  /// Handles a frame the lab's switch sent to the uplink port.
  public mutating func receiveFromInside(
    _ frame: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard bytes.count >= EthernetFrame.headerLength else { return drop(.malformed) }
    let destination = MACAddress(unchecked: bytes, at: EthernetFrame.Offset.destination)
    let etherType = bytes.bigEndianUInt16(at: EthernetFrame.Offset.etherType)
    if etherType == EtherType.arp.rawValue { return insideARP(bytes, at: now) }
    guard etherType == EtherType.ipv4.rawValue,
      destination == configuration.insideMAC || destination.isBroadcast
    else { return ignore() }
    guard let packet = UplinkRouter.ipv4Packet(in: frame) else { return drop(.malformed) }
    let inside = configuration.insideAddress
    if packet.destination == inside.address || packet.destination == .broadcast
      || packet.destination == inside.broadcast || destination.isBroadcast
    {
      return local(frame, packet, header: header, at: now)
    }
    if inside.contains(packet.destination) || packet.destination.isMulticast { return ignore() }
    return translateOut(frame, packet, header: header, relayTo: nil, at: now)
  }

  /// Handles a frame read from the physical NIC.
  public mutating func receiveFromOutside(
    _ frame: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, at now: Instant
  ) -> RouterVerdict {
    let bytes = UnsafeRawBufferPointer(frame)
    guard bytes.count >= EthernetFrame.headerLength else { return drop(.malformed) }
    let etherType = bytes.bigEndianUInt16(at: EthernetFrame.Offset.etherType)
    if etherType == EtherType.arp.rawValue { return outsideARP(bytes, at: now) }
    if dhcpClient != nil, etherType == EtherType.ipv4.rawValue,
      let verdict = dhcpClientMessage(frame, at: now)
    {
      return verdict
    }
    // The NIC is promiscuous: most of what it sees is the host's or other machines' traffic.
    guard etherType == EtherType.ipv4.rawValue,
      MACAddress(unchecked: bytes, at: EthernetFrame.Offset.destination)
        == configuration.outsideMAC,
      let outside = configuration.outsideAddress
    else { return ignore() }
    guard let packet = UplinkRouter.ipv4Packet(in: frame) else { return drop(.malformed) }
    guard packet.destination == outside.address else { return ignore() }
    return translateIn(frame, packet, header: header, at: now)
  }

  @inline(__always)
  mutating func drop(_ reason: NATDropReason) -> RouterVerdict {
    statistics.drops[reason.rawValue] &+= 1
    return .dropped(reason)
  }

  @inline(__always)
  mutating func ignore() -> RouterVerdict {
    statistics.ignored &+= 1
    return .consumed
  }

  mutating func count(_ reason: NATDropReason, times: Int) {
    statistics.drops[reason.rawValue] &+= UInt64(times)
  }
}

extension UplinkRouter {
  /// The IPv4 packet after the Ethernet header of `frame`, viewed for
  /// rewriting; nil when it is cut short or its lengths do not fit the frame
  /// (a frame may carry padding after the packet).
  @inline(__always)
  static func ipv4Packet(in frame: UnsafeMutableRawBufferPointer) -> MutableIPv4Packet? {
    guard frame.count > EthernetFrame.headerLength else { return nil }
    return try? MutableIPv4Packet(
      validating: UnsafeMutableRawBufferPointer(rebasing: frame[EthernetFrame.headerLength...]))
  }
}
