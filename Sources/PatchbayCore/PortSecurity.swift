import PatchbayWire

/// Port security of one switch port: what a guest on it may send, beyond what
/// its VLAN mode allows. Like a managed switch's port security, IP source guard,
/// DHCP snooping and protected ports, so that one guest cannot pose as another,
/// hand out addresses, fill the MAC table or reach its protected neighbours.
public struct PortSecurity: Sendable, Equatable {
  /// Learn at most this many source addresses on the port; frames from further
  /// ones are dropped (`max-macs`). Nil: no limit beyond the table's.
  public var maximumMACs: Int?
  /// The only source address the port may use (`mac-lock`). Nil: any.
  public var lockedMAC: MACAddress?
  /// The only IPv4 address the port may send from or claim in ARP (`ip-guard`).
  /// Nil: no check.
  public var guardedAddress: IPv4Address?
  /// Drops DHCP (and DHCPv6) server replies sent from the port (`dhcp-guard`).
  public var blocksDHCPServers: Bool
  /// A protected port cannot exchange frames with another protected port.
  public var isProtected: Bool

  /// No restriction.
  public static let none = PortSecurity()

  /// Makes port security settings; every one is off unless given.
  public init(
    maximumMACs: Int? = nil, lockedMAC: MACAddress? = nil, guardedAddress: IPv4Address? = nil,
    blocksDHCPServers: Bool = false, isProtected: Bool = false
  ) {
    self.maximumMACs = maximumMACs
    self.lockedMAC = lockedMAC
    self.guardedAddress = guardedAddress
    self.blocksDHCPServers = blocksDHCPServers
    self.isProtected = isProtected
  }

  /// True when frames from the port have to be inspected (`violation(in:)`).
  public var inspectsFrames: Bool {
    lockedMAC != nil || guardedAddress != nil || blocksDHCPServers
  }

  /// Why `frame` must not enter the switch from this port, or nil when it may.
  ///
  /// - `mac-lock`: the source address is not the locked one.
  /// - `ip-guard`: an IPv4 packet from another address than the guarded one
  ///   (0.0.0.0 is allowed, for DHCP and address probes), an ARP packet whose
  ///   sender is another address or another MAC than the frame's source, an
  ///   IPv6 packet (lab hosts have no IPv6 address to guard), or an IPv4 or ARP
  ///   header too short to check.
  /// - `dhcp-guard`: UDP from port 67 to 68 (DHCP) or from 547 to 546 (DHCPv6).
  public func violation(in frame: EthernetFrame) -> DropReason? {
    if let lockedMAC, frame.source != lockedMAC { return .macLocked }
    let type = frame.payloadType
    let payload = frame.payload
    if let guardedAddress {
      switch type {
      case .ipv4:
        guard let packet = try? IPv4Packet(validating: payload) else { return .ipGuard }
        let source = packet.source
        if source != guardedAddress && source != .any { return .ipGuard }
      case .arp:
        guard let arp = try? ARPPacket(validating: payload) else { return .ipGuard }
        let sender = arp.senderProtocolAddress
        if sender != guardedAddress && sender != .any { return .ipGuard }
        if arp.senderHardwareAddress != frame.source { return .ipGuard }
      case .ipv6:
        return .ipGuard
      default:
        break
      }
    }
    if blocksDHCPServers && PortSecurity.isDHCPServerReply(type: type, payload: payload) {
      return .dhcpGuard
    }
    return nil
  }

  /// True for UDP from a DHCP server port to a client port: 67 → 68 over IPv4,
  /// 547 → 546 over IPv6 (past up to four extension headers; a longer chain is
  /// treated as a reply, since a guest could hide one behind it).
  static func isDHCPServerReply(type: EtherType, payload: UnsafeRawBufferPointer) -> Bool {
    switch type {
    case .ipv4:
      guard let packet = try? IPv4Packet(validating: payload), packet.protocol == .udp,
        packet.fragmentOffset == 0
      else { return false }
      return hasPorts(source: 67, destination: 68, at: packet.payload)
    case .ipv6:
      return isDHCPv6ServerReply(payload)
    default:
      return false
    }
  }

  private static func isDHCPv6ServerReply(_ packet: UnsafeRawBufferPointer) -> Bool {
    let fixedHeader = 40
    guard packet.count >= fixedHeader else { return false }
    var next = packet[6]
    var offset = fixedHeader
    for _ in 0..<4 {
      switch next {
      case IPProtocol.udp.rawValue:
        return hasPorts(
          source: 547, destination: 546, at: UnsafeRawBufferPointer(rebasing: packet[offset...]))
      case 0, 43, 60:  // hop-by-hop, routing, destination options: (length + 1) * 8 bytes
        guard packet.count >= offset + 2 else { return false }
        next = packet[offset]
        offset += (Int(packet[offset + 1]) + 1) * 8
      case 44:  // fragment header, 8 bytes; only the first fragment carries UDP ports
        guard packet.count >= offset + 8 else { return false }
        if packet.bigEndianUInt16(at: offset + 2) & 0xFFF8 != 0 { return false }
        next = packet[offset]
        offset += 8
      default:
        return false
      }
      guard offset <= packet.count else { return false }
    }
    return true
  }

  private static func hasPorts(
    source: UInt16, destination: UInt16, at bytes: UnsafeRawBufferPointer
  )
    -> Bool
  {
    guard bytes.count >= UDPDatagram.headerLength else { return false }
    return bytes.bigEndianUInt16(at: UDPDatagram.Offset.sourcePort) == source
      && bytes.bigEndianUInt16(at: UDPDatagram.Offset.destinationPort) == destination
  }
}
