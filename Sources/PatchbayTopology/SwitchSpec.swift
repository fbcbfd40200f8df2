import PatchbayCore
import PatchbayWire

/// A learning switch of the lab.
public struct SwitchSpec: Sendable {
  /// The switch's name, unique in the lab.
  public var name: String
  /// How long a learned MAC stays without being seen again (`mac-aging`, default 300 s).
  public var macAging: Duration
  /// The most learned MACs the table holds (`mac-table-size`, default 8192).
  public var macTableSize: Int
  /// Ports in file order.
  public var ports: [PortSpec]
  /// Where the switch is declared.
  public var location: SourceLocation

  /// The default `mac-aging`.
  public static let defaultMACAging: Duration = .seconds(300)
  /// The default `mac-table-size`.
  public static let defaultMACTableSize = 8192

  /// Makes a switch value.
  public init(
    name: String, macAging: Duration = SwitchSpec.defaultMACAging,
    macTableSize: Int = SwitchSpec.defaultMACTableSize, ports: [PortSpec], location: SourceLocation
  ) {
    self.name = name
    self.macAging = macAging
    self.macTableSize = macTableSize
    self.ports = ports
    self.location = location
  }
}

/// One port of a switch.
public struct PortSpec: Sendable {
  /// The port's name within its switch.
  public var name: String
  /// The switch it belongs to.
  public var switchName: String
  /// What the port is connected to.
  public var kind: PortKind
  /// Its VLAN mode (default: access port of VLAN 1).
  public var vlanMode: VLANMode
  /// Its rate limits, if any.
  public var rate: RateLimitSpec?
  /// Its port-security settings.
  public var security: PortSecuritySpec
  /// MTU of the port's interface (`mtu`, default 1500).
  public var mtu: Int
  /// Whether frames sent out of the port may be GSO superframes with partial
  /// checksums (`offload`, default true). When false, Patchbay segments and
  /// completes checksums in software, so every frame leaving the port is
  /// MTU-sized with complete checksums, as from a NIC without offloads.
  public var acceptsOffloads: Bool
  /// Where the port is declared.
  public var location: SourceLocation

  /// The default MTU.
  public static let defaultMTU = 1500

  /// Makes a port value.
  public init(
    name: String, switchName: String, kind: PortKind, vlanMode: VLANMode = .access(vlan: 1),
    rate: RateLimitSpec? = nil, security: PortSecuritySpec = PortSecuritySpec(),
    mtu: Int = PortSpec.defaultMTU, acceptsOffloads: Bool = true, location: SourceLocation
  ) {
    self.name = name
    self.switchName = switchName
    self.kind = kind
    self.vlanMode = vlanMode
    self.rate = rate
    self.security = security
    self.mtu = mtu
    self.acceptsOffloads = acceptsOffloads
    self.location = location
  }

  /// `SWITCH/PORT`.
  public var reference: PortReference { PortReference(switchName: switchName, portName: name) }
}

/// What a port connects to.
public enum PortKind: Hashable, Sendable {
  /// A TAP the switch creates and owns, with this interface name (default `LAB-PORT`).
  case tap(interface: String)
  /// An existing interface, attached through AF_PACKET.
  case attach(interface: String)
  /// The lab side of the named uplink.
  case uplink(name: String)
  /// A patch cable to another port of the lab.
  case peer(PortReference)
}

/// How a port treats VLANs. Mirrors OVS's port modes.
public enum VLANMode: Hashable, Sendable {
  /// Untagged on the wire, `vlan` inside.
  case access(vlan: UInt16)
  /// Tagged frames of `allowed` VLANs pass; untagged frames belong to `native` if set,
  /// and leave tagged if `nativeTagged`.
  case trunk(allowed: VLANSet, native: UInt16?, nativeTagged: Bool)
  /// QinQ customer port: everything travels inside service VLAN `serviceVLAN` with an
  /// outer tag of type `tagType` (0x88a8 by default).
  case dot1qTunnel(serviceVLAN: UInt16, tagType: EtherType)
}

/// A set of VLAN IDs, 1 through 4094.
public enum VLANSet: Hashable, Sendable {
  /// Every VLAN.
  case all
  /// Exactly these VLANs, sorted, no duplicates.
  case only([UInt16])

  /// True when `vlan` is in the set.
  public func contains(_ vlan: UInt16) -> Bool {
    switch self {
    case .all: return (1...4094).contains(vlan)
    case .only(let list): return list.contains(vlan)
    }
  }
}

/// A rate: bits per second or packets per second.
public enum Rate: Hashable, Sendable, CustomStringConvertible {
  /// Bits per second.
  case bitsPerSecond(UInt64)
  /// Packets per second.
  case packetsPerSecond(UInt64)

  /// `100mbit`, `20kpps` style text (the largest SI unit that divides exactly).
  public var description: String {
    func scaled(_ value: UInt64, _ unit: String) -> String {
      for (factor, prefix) in [(UInt64(1_000_000_000), "g"), (1_000_000, "m"), (1_000, "k")]
      where value >= factor && value % factor == 0 {
        return "\(value / factor)\(prefix)\(unit)"
      }
      return "\(value)\(unit)"
    }
    switch self {
    case .bitsPerSecond(let bits): return scaled(bits, "bit")
    case .packetsPerSecond(let packets): return scaled(packets, "pps")
    }
  }
}

/// Port-security settings on a port.
public struct PortSecuritySpec: Hashable, Sendable {
  /// Learn at most this many MACs (`max-macs`).
  public var maxMACs: Int?
  /// Only the configured MAC may send (`mac-lock`).
  public var macLock: Bool
  /// The MAC `mac-lock` names; nil for `mac-lock: true` (the port's host's MAC).
  public var lockedMAC: MACAddress?
  /// Only the host's own address as source (`ip-guard`).
  public var ipGuard: Bool
  /// The address `ip-guard` names; nil for `ip-guard: true` (the port's host's address).
  public var guardedAddress: IPv4Address?
  /// No DHCP server replies from this port (`dhcp-guard`).
  public var dhcpGuard: Bool
  /// Protected ports cannot talk to each other (`protected`).
  public var isProtected: Bool

  /// Makes a port-security value; everything off by default.
  public init(
    maxMACs: Int? = nil, macLock: Bool = false, lockedMAC: MACAddress? = nil,
    ipGuard: Bool = false, guardedAddress: IPv4Address? = nil, dhcpGuard: Bool = false,
    isProtected: Bool = false
  ) {
    self.maxMACs = maxMACs
    self.macLock = macLock || lockedMAC != nil
    self.lockedMAC = lockedMAC
    self.ipGuard = ipGuard || guardedAddress != nil
    self.guardedAddress = guardedAddress
    self.dhcpGuard = dhcpGuard
    self.isProtected = isProtected
  }

  /// True when nothing is switched on.
  public var isEmpty: Bool { self == PortSecuritySpec() }
}

extension VLANMode {
  /// The core's form of this mode, as the datapath runs it.
  public var bridgeMode: PortVLANMode {
    switch self {
    case .access(let vlan):
      return .access(vlan: vlan)
    case .trunk(let allowed, let native, let nativeTagged):
      let bitmap: VLANBitmap
      switch allowed {
      case .all: bitmap = .all
      case .only(let list): bitmap = VLANBitmap(list)
      }
      return .trunk(allowed: bitmap, native: native, nativeTagged: nativeTagged)
    case .dot1qTunnel(let serviceVLAN, let tagType):
      return .dot1qTunnel(serviceVLAN: serviceVLAN, tagType: tagType)
    }
  }
}
