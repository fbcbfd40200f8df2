import PatchbayCore

/// One uplink as `patchbay nat` shows it.
public struct UplinkRecord: Sendable, Equatable {
  /// The uplink's name.
  public var name: String
  /// `nat`, `bridge` or `host-only`.
  public var mode: UplinkMode
  /// The switch port that is its lab side, `SWITCH/PORT`.
  public var port: String
  /// The physical NIC (nat, bridge) or the host-side interface (host-only).
  public var interface: String?
  /// The NAT's own address on the physical network.
  public var outsideAddress: String?
  /// The NAT's MAC on the physical network.
  public var outsideMAC: String?
  /// The lab's gateway address (the router's or the host-only interface's).
  public var insideAddress: String?
  /// The router's MAC on the lab side.
  public var insideMAC: String?
  /// The physical network's gateway.
  public var gateway: String?
  /// Where DNS queries to the inside address are relayed.
  public var dnsServer: String?
  /// The session table's capacity.
  public var maxSessions: Int?
  /// Live sessions, least recently used first.
  public var sessions: [NATSessionRecord]
  /// Port forwards.
  public var forwards: [NATForwardRecord]
  /// DHCP leases in force.
  public var leases: [DHCPLeaseRecord]
  /// A NAT's counters: sessions, frames translated and answered, neighbours,
  /// NIC frames and bytes, DHCP messages; nil for a bridged or host-only
  /// uplink (an empty object in JSON).
  public var counters: NATCounters?
  /// Dropped frames by reason (`unsolicited`, `fragment`, ...), zero ones left out.
  public var drops: DropCounts<NATDropReason>

  /// Makes a record.
  public init(
    name: String, mode: UplinkMode, port: String, interface: String? = nil,
    outsideAddress: String? = nil, outsideMAC: String? = nil, insideAddress: String? = nil,
    insideMAC: String? = nil, gateway: String? = nil, dnsServer: String? = nil,
    maxSessions: Int? = nil, sessions: [NATSessionRecord] = [], forwards: [NATForwardRecord] = [],
    leases: [DHCPLeaseRecord] = [], counters: NATCounters? = nil,
    drops: DropCounts<NATDropReason> = [:]
  ) {
    self.name = name
    self.mode = mode
    self.port = port
    self.interface = interface
    self.outsideAddress = outsideAddress
    self.outsideMAC = outsideMAC
    self.insideAddress = insideAddress
    self.insideMAC = insideMAC
    self.gateway = gateway
    self.dnsServer = dnsServer
    self.maxSessions = maxSessions
    self.sessions = sessions
    self.forwards = forwards
    self.leases = leases
    self.counters = counters
    self.drops = drops
  }
}

extension UplinkRecord: Codable {
  private enum Key: String, CodingKey {
    case name, mode, port, interface, outsideAddress, outsideMAC, insideAddress, insideMAC
    case gateway, dnsServer, maxSessions, sessions, forwards, leases, counters, drops
  }

  /// Decodes a record; an empty `counters` object is no counters.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    name = try container.decode(String.self, forKey: .name)
    mode = try container.decode(UplinkMode.self, forKey: .mode)
    port = try container.decode(String.self, forKey: .port)
    interface = try container.decodeIfPresent(String.self, forKey: .interface)
    outsideAddress = try container.decodeIfPresent(String.self, forKey: .outsideAddress)
    outsideMAC = try container.decodeIfPresent(String.self, forKey: .outsideMAC)
    insideAddress = try container.decodeIfPresent(String.self, forKey: .insideAddress)
    insideMAC = try container.decodeIfPresent(String.self, forKey: .insideMAC)
    gateway = try container.decodeIfPresent(String.self, forKey: .gateway)
    dnsServer = try container.decodeIfPresent(String.self, forKey: .dnsServer)
    maxSessions = try container.decodeIfPresent(Int.self, forKey: .maxSessions)
    sessions = try container.decode([NATSessionRecord].self, forKey: .sessions)
    forwards = try container.decode([NATForwardRecord].self, forKey: .forwards)
    leases = try container.decode([DHCPLeaseRecord].self, forKey: .leases)
    let names = try container.nestedContainer(keyedBy: NameKey.self, forKey: .counters)
    counters =
      names.allKeys.isEmpty ? nil : try container.decode(NATCounters.self, forKey: .counters)
    drops = try container.decode(DropCounts<NATDropReason>.self, forKey: .drops)
  }

  /// Encodes the record as the synthesized form did: absent optionals left
  /// out, absent counters as `{}`.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(mode, forKey: .mode)
    try container.encode(port, forKey: .port)
    try container.encodeIfPresent(interface, forKey: .interface)
    try container.encodeIfPresent(outsideAddress, forKey: .outsideAddress)
    try container.encodeIfPresent(outsideMAC, forKey: .outsideMAC)
    try container.encodeIfPresent(insideAddress, forKey: .insideAddress)
    try container.encodeIfPresent(insideMAC, forKey: .insideMAC)
    try container.encodeIfPresent(gateway, forKey: .gateway)
    try container.encodeIfPresent(dnsServer, forKey: .dnsServer)
    try container.encodeIfPresent(maxSessions, forKey: .maxSessions)
    try container.encode(sessions, forKey: .sessions)
    try container.encode(forwards, forKey: .forwards)
    try container.encode(leases, forKey: .leases)
    if let counters {
      try container.encode(counters, forKey: .counters)
    } else {
      _ = container.nestedContainer(keyedBy: NameKey.self, forKey: .counters)
    }
    try container.encode(drops, forKey: .drops)
  }
}

/// One NAT session.
public struct NATSessionRecord: Codable, Sendable, Equatable {
  /// `tcp`, `udp` or `icmp`.
  public var transport: String
  /// The inside endpoint, `ADDRESS:PORT` (ICMP: the echo identifier).
  public var inside: String
  /// The endpoint on the NAT's outside address.
  public var outside: String
  /// The remote endpoint.
  public var remote: String
  /// The TCP state (`ESTABLISHED`, ...), `replied` or `unreplied` for UDP and ICMP.
  public var state: String
  /// True for a session opened through a port forward.
  public var forwarded: Bool
  /// Seconds since the session was last used.
  public var idleSeconds: Double
  /// Seconds until it expires unless used.
  public var expiresInSeconds: Double
  /// Frames sent out.
  public var packetsOut: UInt64
  /// Frames received back.
  public var packetsIn: UInt64

  /// Makes a record.
  public init(
    transport: String, inside: String, outside: String, remote: String, state: String,
    forwarded: Bool, idleSeconds: Double, expiresInSeconds: Double, packetsOut: UInt64,
    packetsIn: UInt64
  ) {
    self.transport = transport
    self.inside = inside
    self.outside = outside
    self.remote = remote
    self.state = state
    self.forwarded = forwarded
    self.idleSeconds = idleSeconds
    self.expiresInSeconds = expiresInSeconds
    self.packetsOut = packetsOut
    self.packetsIn = packetsIn
  }
}

/// One port forward.
public struct NATForwardRecord: Codable, Sendable, Equatable {
  /// `tcp` or `udp`.
  public var transport: String
  /// The port on the outside address.
  public var outsidePort: UInt16
  /// The inside endpoint, `ADDRESS:PORT`.
  public var inside: String

  /// Makes a record.
  public init(transport: String, outsidePort: UInt16, inside: String) {
    self.transport = transport
    self.outsidePort = outsidePort
    self.inside = inside
  }
}

/// One DHCP lease.
public struct DHCPLeaseRecord: Codable, Sendable, Equatable {
  /// The client's MAC.
  public var mac: String
  /// The address leased.
  public var address: String
  /// The host name the client sent, if any.
  public var hostName: String?
  /// Seconds until the lease runs out.
  public var expiresInSeconds: Double
  /// True for a fixed lease (a host that names its MAC).
  public var fixed: Bool
  /// How many times it was granted: 1, then one more per renewal.
  public var grants: Int

  /// Makes a record.
  public init(
    mac: String, address: String, hostName: String?, expiresInSeconds: Double, fixed: Bool,
    grants: Int
  ) {
    self.mac = mac
    self.address = address
    self.hostName = hostName
    self.expiresInSeconds = expiresInSeconds
    self.fixed = fixed
    self.grants = grants
  }
}
