import PatchbayCore
import PatchbayWire

/// A way out of (or into) the lab, as declared: its name and what its mode
/// needs, and nothing a mode does not use (a bridged uplink has no inside
/// address to forget, a NAT uplink always has one).
///
/// The same uplink later becomes an `UplinkRouterConfiguration` (a NAT's
/// resolved router), a `DatapathUplink` (the running router and its NIC),
/// an `UplinkSnapshot` (a copy between batches) and an `UplinkRecord` (what
/// `patchbay nat` shows); each carries this one `UplinkMode`.
public struct UplinkSpec: Sendable {
  /// What each mode is made of.
  public enum Settings: Sendable {
    /// NAPT behind an address of its own on the physical network.
    case nat(NATUplinkSpec)
    /// The physical NIC `interface` becomes a switch port.
    case bridge(interface: String)
    /// A host-side interface with address `inside` joins the switch; nothing leaves.
    case hostOnly(inside: IPv4CIDR)
  }

  /// The uplink's name within the lab.
  public var name: String
  /// Its mode and the mode's settings.
  public var settings: Settings
  /// Where the uplink is declared.
  public var location: SourceLocation

  /// Makes an uplink value.
  public init(name: String, settings: Settings, location: SourceLocation) {
    self.name = name
    self.settings = settings
    self.location = location
  }

  /// `nat`, `bridge` or `host-only`.
  public var mode: UplinkMode {
    switch settings {
    case .nat: .nat
    case .bridge: .bridge
    case .hostOnly: .hostOnly
    }
  }

  /// The NAT's settings; nil for another mode.
  public var nat: NATUplinkSpec? {
    if case .nat(let nat) = settings { return nat }
    return nil
  }

  /// The physical NIC of a NAT or bridged uplink.
  public var interface: String? {
    switch settings {
    case .nat(let nat): nat.interface
    case .bridge(let interface): interface
    case .hostOnly: nil
    }
  }

  /// The lab's gateway address of a NAT or host-only uplink.
  public var inside: IPv4CIDR? {
    switch settings {
    case .nat(let nat): nat.inside
    case .bridge: nil
    case .hostOnly(let inside): inside
    }
  }
}

/// What a NAT uplink is declared with.
public struct NATUplinkSpec: Sendable {
  /// The physical NIC.
  public var interface: String
  /// The NAT's own address on the physical network, or DHCP.
  public var address: AddressAssignment
  /// The physical network's gateway.
  public var gateway: IPv4Address?
  /// The gateway address lab hosts use.
  public var inside: IPv4CIDR
  /// The lab-side DHCP server, if any.
  public var dhcp: DHCPSpec?
  /// `relay`, or an address to relay DNS to.
  public var dns: DNSSpec?
  /// Port forwards inward.
  public var forwards: [ForwardSpec]
  /// The most NAT sessions tracked at once (default 65536); the least recently
  /// used gives way to a new one when the table is full.
  public var maxSessions: Int

  /// Makes a NAT uplink's settings.
  public init(
    interface: String, address: AddressAssignment, gateway: IPv4Address? = nil,
    inside: IPv4CIDR, dhcp: DHCPSpec? = nil, dns: DNSSpec? = nil, forwards: [ForwardSpec] = [],
    maxSessions: Int = 65_536
  ) {
    self.interface = interface
    self.address = address
    self.gateway = gateway
    self.inside = inside
    self.dhcp = dhcp
    self.dns = dns
    self.forwards = forwards
    self.maxSessions = maxSessions
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
