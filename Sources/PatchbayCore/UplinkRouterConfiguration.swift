import PatchbayWire

/// A port forward: frames to the NAT's outside address and `outsidePort` go to
/// `insideAddress:insidePort`.
public struct NATForward: Sendable, Hashable {
  /// TCP or UDP.
  public var transport: NATTransport
  /// The port on the NAT's outside address.
  public var outsidePort: UInt16
  /// The inside host's address.
  public var insideAddress: IPv4Address
  /// The port on the inside host.
  public var insidePort: UInt16

  /// Makes a forward.
  public init(
    transport: NATTransport, outsidePort: UInt16, insideAddress: IPv4Address, insidePort: UInt16
  ) {
    self.transport = transport
    self.outsidePort = outsidePort
    self.insideAddress = insideAddress
    self.insidePort = insidePort
  }
}

/// What a NAT uplink's virtual router is: its two faces, the services it
/// offers the lab, and its session table's size.
public struct UplinkRouterConfiguration: Sendable {
  /// The router's address and prefix on the lab side (the hosts' gateway).
  public var insideAddress: IPv4CIDR
  /// The router's MAC on the lab side.
  public var insideMAC: MACAddress
  /// The NAT's own address on the physical network; nil until a DHCP client got one.
  public var outsideAddress: IPv4CIDR?
  /// True when the NAT asks the physical network's DHCP server for its address.
  public var outsideUsesDHCP: Bool
  /// The NAT's MAC on the physical network (its own, not the NIC's).
  public var outsideMAC: MACAddress
  /// The physical network's gateway; nil sends only to on-link addresses.
  public var gateway: IPv4Address?
  /// The lab-side DHCP server, if any.
  public var dhcp: DHCPServerConfiguration?
  /// Where DNS queries to the router's inside address are relayed, if anywhere.
  public var dnsServer: IPv4Address?
  /// Port forwards inward.
  public var forwards: [NATForward]
  /// Inside hosts whose MACs are known in advance (the lab's own hosts).
  public var neighbours: [IPv4Address: MACAddress]
  /// The most sessions tracked at once.
  public var maximumSessions: Int
  /// The most learned neighbours kept per side (the lab's, the physical network's).
  public var maximumNeighbours: Int
  /// Idle timeouts.
  public var timeouts: NATTimeouts

  /// Makes a configuration.
  public init(
    insideAddress: IPv4CIDR, insideMAC: MACAddress, outsideAddress: IPv4CIDR?,
    outsideUsesDHCP: Bool = false, outsideMAC: MACAddress, gateway: IPv4Address?,
    dhcp: DHCPServerConfiguration? = nil,
    dnsServer: IPv4Address? = nil, forwards: [NATForward] = [],
    neighbours: [IPv4Address: MACAddress] = [:], maximumSessions: Int = 65_536,
    maximumNeighbours: Int = 1024, timeouts: NATTimeouts = NATTimeouts()
  ) {
    self.insideAddress = insideAddress
    self.insideMAC = insideMAC
    self.outsideAddress = outsideAddress
    self.outsideUsesDHCP = outsideUsesDHCP
    self.outsideMAC = outsideMAC
    self.gateway = gateway
    self.dhcp = dhcp
    self.dnsServer = dnsServer
    self.forwards = forwards
    self.neighbours = neighbours
    self.maximumSessions = maximumSessions
    self.maximumNeighbours = maximumNeighbours
    self.timeouts = timeouts
  }
}
