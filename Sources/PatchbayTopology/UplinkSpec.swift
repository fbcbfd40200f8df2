import PatchbayWire

/// A way out of (or into) the lab.
public struct UplinkSpec: Sendable {
  /// How the uplink joins the lab to the outside.
  public enum Mode: String, Hashable, Sendable, CaseIterable {
    /// NAPT behind an address of its own on the physical network.
    case nat
    /// The physical NIC becomes a switch port.
    case bridge
    /// A host-side interface joins the switch; nothing leaves.
    case hostOnly = "host-only"
  }

  /// The uplink's name within the lab.
  public var name: String
  /// Its mode.
  public var mode: Mode
  /// The physical NIC (nat, bridge).
  public var interface: String?
  /// The NAT's own address on the physical network, or DHCP.
  public var address: AddressAssignment?
  /// The physical network's gateway.
  public var gateway: IPv4Address?
  /// The gateway address lab hosts use (nat, host-only).
  public var inside: IPv4CIDR?
  /// The lab-side DHCP server, if any.
  public var dhcp: DHCPSpec?
  /// `relay`, or an address to relay DNS to.
  public var dns: DNSSpec?
  /// Port forwards inward.
  public var forwards: [ForwardSpec]
  /// The most NAT sessions tracked at once (default 65536); the least recently
  /// used gives way to a new one when the table is full.
  public var maxSessions: Int
  /// Where the uplink is declared.
  public var location: SourceLocation

  /// Makes an uplink value.
  public init(
    name: String, mode: Mode, interface: String? = nil, address: AddressAssignment? = nil,
    gateway: IPv4Address? = nil, inside: IPv4CIDR? = nil, dhcp: DHCPSpec? = nil,
    dns: DNSSpec? = nil, forwards: [ForwardSpec] = [], maxSessions: Int = 65_536,
    location: SourceLocation
  ) {
    self.name = name
    self.mode = mode
    self.interface = interface
    self.address = address
    self.gateway = gateway
    self.inside = inside
    self.dhcp = dhcp
    self.dns = dns
    self.forwards = forwards
    self.maxSessions = maxSessions
    self.location = location
  }
}

/// The lab-side DHCP server of an uplink.
public struct DHCPSpec: Hashable, Sendable {
  /// First address handed out.
  public var rangeStart: IPv4Address
  /// Last address handed out.
  public var rangeEnd: IPv4Address
  /// Lease time (default 1 h).
  public var lease: Duration

  /// Makes a DHCP value.
  public init(rangeStart: IPv4Address, rangeEnd: IPv4Address, lease: Duration = .seconds(3600)) {
    self.rangeStart = rangeStart
    self.rangeEnd = rangeEnd
    self.lease = lease
  }
}

/// Where DNS queries from the lab go.
public enum DNSSpec: Hashable, Sendable {
  /// To the host's resolvers.
  case relay
  /// To this server.
  case server(IPv4Address)
}

/// `tcp 8080 -> h1:80`: a port forward from the outside address inward.
public struct ForwardSpec: Hashable, Sendable {
  /// The transport protocol.
  public enum TransportProtocol: String, Hashable, Sendable {
    /// TCP.
    case tcp
    /// UDP.
    case udp
  }

  /// What the forward's target names: a host of the lab or an address.
  public enum Target: Hashable, Sendable {
    /// A host by name.
    case host(String)
    /// An address.
    case address(IPv4Address)
  }

  /// TCP or UDP.
  public var transport: TransportProtocol
  /// Port on the outside address.
  public var outsidePort: UInt16
  /// Inside host or address.
  public var target: Target
  /// Port on the inside host.
  public var insidePort: UInt16

  /// Makes a forward value.
  public init(
    transport: TransportProtocol, outsidePort: UInt16, target: Target, insidePort: UInt16
  ) {
    self.transport = transport
    self.outsidePort = outsidePort
    self.target = target
    self.insidePort = insidePort
  }
}

/// A capture declared in the topology.
public struct CaptureSpec: Sendable {
  /// The capture's name.
  public var name: String
  /// Ports captured.
  public var ports: [PortReference]
  /// Output file path.
  public var file: String
  /// tcpdump filter expression, if any.
  public var filter: String?
  /// Where the filter is written, for errors about it.
  public var filterLocation: SourceLocation?
  /// Bytes kept per packet (default 262144).
  public var snaplen: Int
  /// Ring of files, if any: count and size of each.
  public var ring: (files: Int, size: Int)?
  /// Where the capture is declared.
  public var location: SourceLocation

  /// Makes a capture value.
  public init(
    name: String, ports: [PortReference], file: String, filter: String? = nil,
    snaplen: Int = 262_144, ring: (files: Int, size: Int)? = nil, location: SourceLocation
  ) {
    self.name = name
    self.ports = ports
    self.file = file
    self.filter = filter
    self.snaplen = snaplen
    self.ring = ring
    self.location = location
  }
}

/// A SPAN mirror.
public struct MirrorSpec: Sendable {
  /// The mirror's name.
  public var name: String
  /// Ports whose received and sent frames are copied.
  public var from: [PortReference]
  /// The port the copies go to.
  public var to: PortReference
  /// Where `to` is written.
  public var toLocation: SourceLocation?
  /// tcpdump filter expression, if any.
  public var filter: String?
  /// Where the filter is written, for errors about it.
  public var filterLocation: SourceLocation?
  /// Where the mirror is declared.
  public var location: SourceLocation

  /// Makes a mirror value.
  public init(
    name: String, from: [PortReference], to: PortReference, filter: String? = nil,
    location: SourceLocation
  ) {
    self.name = name
    self.from = from
    self.to = to
    self.filter = filter
    self.location = location
  }
}
