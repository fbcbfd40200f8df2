import PatchbayCore
import PatchbayWire
import Testing

private let guest = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x01)
private let neighbour = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x02)
private let own = IPv4Address(10, 0, 0, 1)
private let other = IPv4Address(10, 0, 0, 2)
private let t0 = Instant.seconds(100)

/// A UDP datagram over IPv4 from `source`:`sourcePort` to 10.0.0.2:`destinationPort`.
private func udp(
  from source: IPv4Address, port sourcePort: UInt16 = 4000, to destinationPort: UInt16 = 5000,
  mac: MACAddress = guest, tag: VLANTag? = nil
) -> [UInt8] {
  let datagram = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort).emit(
    payload: [1, 2, 3, 4], pseudoHeader: .ipv4(source: source, destination: other))
  let packet = IPv4Header(protocol: .udp, source: source, destination: other).emit(
    payload: datagram)
  return EthernetHeader(destination: .broadcast, source: mac, tag: tag, payloadType: .ipv4)
    .emit(payload: packet)
}

/// An ARP request from `mac` claiming `sender`, in a frame from `frameSource`.
private func arp(
  claiming sender: IPv4Address, mac: MACAddress = guest, frameSource: MACAddress = guest
)
  -> [UInt8]
{
  let message = ARPMessage(
    operation: .request, senderHardwareAddress: mac, senderProtocolAddress: sender,
    targetHardwareAddress: .zero, targetProtocolAddress: other)
  return EthernetHeader(destination: .broadcast, source: frameSource, payloadType: .arp)
    .emit(payload: message.emit())
}

/// An IPv6 UDP datagram from port `sourcePort` to `destinationPort`, behind `extensions`
/// (each an 8-byte destination-options header).
private func udp6(from sourcePort: UInt16, to destinationPort: UInt16, extensions: Int = 0)
  -> [UInt8]
{
  var packet: [UInt8] = [0x60, 0, 0, 0, 0, 0, extensions > 0 ? 60 : 17, 64]
  packet += [UInt8](repeating: 0xFE, count: 32)
  for index in 0..<extensions {
    packet += [index == extensions - 1 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0]
  }
  packet += [
    UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8),
    UInt8(destinationPort & 0xFF), 0, 12, 0, 0, 1, 2, 3, 4,
  ]
  return EthernetHeader(destination: .broadcast, source: guest, payloadType: .ipv6)
    .emit(payload: packet)
}

private func violation(_ security: PortSecurity, _ bytes: [UInt8]) -> DropReason? {
  bytes.withUnsafeBytes { raw in
    guard let frame = try? EthernetFrame(validating: raw) else { return .runt }
    return security.violation(in: frame)
  }
}

@Suite("PortSecurity")
struct PortSecurityTests {
  @Test func noSettingsInspectNothing() {
    #expect(!PortSecurity.none.inspectsFrames)
    #expect(!PortSecurity(maximumMACs: 4, isProtected: true).inspectsFrames)
    #expect(PortSecurity(lockedMAC: guest).inspectsFrames)
    #expect(PortSecurity(guardedAddress: own).inspectsFrames)
    #expect(PortSecurity(blocksDHCPServers: true).inspectsFrames)
  }

  @Test func macLockAdmitsOnlyTheLockedSource() {
    let security = PortSecurity(lockedMAC: guest)
    #expect(violation(security, udp(from: own)) == nil)
    #expect(violation(security, udp(from: own, mac: neighbour)) == .macLocked)
  }

  @Test func ipGuardAdmitsTheOwnAddressAndTheUnspecifiedOne() {
    let security = PortSecurity(guardedAddress: own)
    #expect(violation(security, udp(from: own)) == nil)
    #expect(violation(security, udp(from: .any, port: 68, to: 67)) == nil, "DHCP discover")
    #expect(violation(security, udp(from: other)) == .ipGuard)
    // Behind a priority tag the packet is still found and checked.
    let priority = VLANTag(protocolID: .vlan, controlInformation: 0xA000)
    #expect(violation(security, udp(from: other, tag: priority)) == .ipGuard)
    #expect(violation(security, udp(from: own, tag: priority)) == nil)
  }

  @Test func ipGuardChecksARPSenders() {
    let security = PortSecurity(guardedAddress: own)
    #expect(violation(security, arp(claiming: own)) == nil)
    #expect(violation(security, arp(claiming: .any)) == nil, "an address probe")
    #expect(violation(security, arp(claiming: other)) == .ipGuard, "claims another host's address")
    #expect(
      violation(security, arp(claiming: own, mac: neighbour)) == .ipGuard,
      "points its own address at another MAC")
  }

  @Test func ipGuardRefusesWhatItCannotCheck() {
    let security = PortSecurity(guardedAddress: own)
    let truncatedIP = Array(udp(from: own).prefix(14 + 12))
    #expect(violation(security, truncatedIP) == .ipGuard)
    let truncatedARP = Array(arp(claiming: own).prefix(14 + 20))
    #expect(violation(security, truncatedARP) == .ipGuard)
    #expect(violation(security, udp6(from: 1000, to: 2000)) == .ipGuard, "no IPv6 address to guard")
    // Other protocols carry no address to check.
    let lldp = EthernetHeader(
      destination: neighbour, source: guest, payloadType: EtherType(rawValue: 0x88CC)
    ).emit(payload: [UInt8](repeating: 0, count: 46))
    #expect(violation(security, lldp) == nil)
  }

  @Test func dhcpGuardDropsServerRepliesOnly() {
    let security = PortSecurity(blocksDHCPServers: true)
    #expect(violation(security, udp(from: own, port: 67, to: 68)) == .dhcpGuard)
    #expect(violation(security, udp(from: .any, port: 68, to: 67)) == nil, "a client's request")
    #expect(violation(security, udp(from: own, port: 67, to: 5000)) == nil)
    #expect(violation(security, udp6(from: 547, to: 546)) == .dhcpGuard)
    #expect(violation(security, udp6(from: 547, to: 546, extensions: 2)) == .dhcpGuard)
    #expect(violation(security, udp6(from: 546, to: 547)) == nil)
    #expect(
      violation(security, udp6(from: 547, to: 546, extensions: 5)) == .dhcpGuard,
      "a chain too long to follow is refused")
  }

  // MARK: In the bridge

  private func bridge(_ securities: [PortSecurity], tableSize: Int = 64) -> Bridge {
    Bridge(
      name: "s",
      ports: securities.enumerated().map {
        BridgePortConfiguration(name: "p\($0.offset)", security: $0.element)
      }, macTableSize: tableSize)
  }

  private func unicast(from source: MACAddress, to destination: MACAddress) -> [UInt8] {
    EthernetHeader(destination: destination, source: source, payloadType: .ipv4)
      .emit(payload: [UInt8](repeating: 0, count: 46))
  }

  @Test func maxMACsLearnsAtMostTheLimitAndDropsTheRest() {
    var switch_ = bridge([PortSecurity(maximumMACs: 2), .none])
    let sources = (1...5).map { MACAddress(0x02, 0, 0, 0, 1, UInt8($0)) }
    var decisions: [ForwardingDecision] = []
    for source in sources {
      decisions.append(switch_.receive(unicast(from: source, to: neighbour), on: 0, at: t0))
    }
    let expected: [ForwardingDecision] =
      [.flood(vlan: 1), .flood(vlan: 1)] + Array(repeating: .drop(.macLimit), count: 3)
    #expect(decisions == expected)
    #expect(switch_.table.learnedCount(on: 0) == 2)
    #expect(switch_.counters[0][dropped: .macLimit] == 3)
    #expect(switch_.counters[0].addsUp)
    // Known sources keep working.
    let again = switch_.receive(unicast(from: sources[0], to: neighbour), on: 0, at: t0)
    #expect(again == .flood(vlan: 1))
    // Once the learned ones age out, new ones take their place.
    let fresh = switch_.receive(
      unicast(from: sources[4], to: neighbour), on: 0, at: t0 + .seconds(301))
    #expect(fresh == .flood(vlan: 1))
    #expect(switch_.table.learnedCount(on: 0) == 1)
  }

  @Test func maxMACsCountsAnAddressMovingInAsNew() {
    var switch_ = bridge([PortSecurity(maximumMACs: 1), .none])
    _ = switch_.receive(unicast(from: neighbour, to: .broadcast), on: 1, at: t0)
    _ = switch_.receive(unicast(from: guest, to: .broadcast), on: 0, at: t0)
    // The neighbour's address showing up on the full port would be a second one there.
    let moved = switch_.receive(unicast(from: neighbour, to: .broadcast), on: 0, at: t0)
    #expect(moved == .drop(.macLimit))
    #expect(switch_.table.lookup(neighbour, vlan: 1, at: t0) == 1, "the entry stays where it was")
  }

  @Test func lockedPortNeverLearnsAnotherSource() {
    var switch_ = bridge([PortSecurity(lockedMAC: guest), .none])
    let spoofed = switch_.receive(unicast(from: neighbour, to: .broadcast), on: 0, at: t0)
    #expect(spoofed == .drop(.macLocked))
    #expect(switch_.table.lookup(neighbour, vlan: 1, at: t0) == nil)
    #expect(switch_.counters[0][dropped: .macLocked] == 1)
  }

  @Test func protectedPortsReachOnlyUnprotectedOnes() {
    let protected = PortSecurity(isProtected: true)
    var switch_ = bridge([protected, protected, .none])
    let a = MACAddress(0x02, 0, 0, 0, 0, 0xA)
    let b = MACAddress(0x02, 0, 0, 0, 0, 0xB)
    let uplink = MACAddress(0x02, 0, 0, 0, 0, 0xC)
    // A broadcast from a protected port floods to the unprotected port only.
    let broadcast = switch_.receive(unicast(from: a, to: .broadcast), on: 0, at: t0)
    #expect(broadcast == .flood(vlan: 1))
    #expect(switch_.floodSet(vlan: 1, from: 0) == [2])
    #expect(switch_.floodSet(vlan: 1, from: 2) == [0, 1])
    _ = switch_.receive(unicast(from: b, to: .broadcast), on: 1, at: t0)
    _ = switch_.receive(unicast(from: uplink, to: .broadcast), on: 2, at: t0)
    let toNeighbour = switch_.receive(unicast(from: a, to: b), on: 0, at: t0)
    #expect(toNeighbour == .drop(.protectedPort))
    let toUplink = switch_.receive(unicast(from: a, to: uplink), on: 0, at: t0)
    #expect(toUplink == .forward(port: 2, vlan: 1))
    let fromUplink = switch_.receive(unicast(from: uplink, to: b), on: 2, at: t0)
    #expect(fromUplink == .forward(port: 1, vlan: 1))
    #expect(switch_.counters[0][dropped: .protectedPort] == 1)
    let addUp = switch_.counters.allSatisfy(\.addsUp)
    #expect(addUp)
  }

  @Test func ipGuardedPortDropsSpoofedPacketsBeforeLearning() {
    var switch_ = bridge([PortSecurity(guardedAddress: own, blocksDHCPServers: true), .none])
    let spoofed = switch_.receive(udp(from: other), on: 0, at: t0)
    #expect(spoofed == .drop(.ipGuard))
    #expect(switch_.table.lookup(guest, vlan: 1, at: t0) == nil)
    let server = switch_.receive(udp(from: own, port: 67, to: 68), on: 0, at: t0)
    #expect(server == .drop(.dhcpGuard))
    let honest = switch_.receive(udp(from: own), on: 0, at: t0)
    #expect(honest == .flood(vlan: 1))
    #expect(switch_.counters[0][dropped: .ipGuard] == 1)
    #expect(switch_.counters[0][dropped: .dhcpGuard] == 1)
  }
}
