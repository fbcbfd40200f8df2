import PatchbayWire

// The NAT's own DHCP client on the physical network: its messages go out
// broadcast from port 68 and the server's answers come back to it.

extension UplinkRouter {
  /// Lets the client retransmit or renew, and drops the outside address when the lease ran out.
  mutating func runDHCPClient(at now: Instant) {
    guard var client = dhcpClient else { return }
    let (payload, lost) = client.tick(at: now)
    dhcpClient = client
    if lost {
      configuration.outsideAddress = nil
      configuration.gateway = configuredGateway
    }
    if let payload { sendDHCPClientPayload(payload, from: client.lease?.address.address) }
  }

  /// A DHCP server's answer to the NAT's client (UDP to port 68 for our MAC);
  /// nil when the frame is something else.
  mutating func dhcpClientMessage(_ frame: UnsafeMutableRawBufferPointer, at now: Instant)
    -> RouterVerdict?
  {
    guard let packet = UplinkRouter.ipv4Packet(in: frame),
      packet.protocol == .udp, !packet.isFragment,
      packet.transportBytes.count >= UDPDatagram.headerLength,
      UnsafeRawBufferPointer(packet.transportBytes).bigEndianUInt16(
        at: UDPDatagram.Offset.destinationPort) == DHCPMessage.clientPort
    else { return nil }
    let payload = UnsafeRawBufferPointer(
      rebasing: packet.transportBytes[UDPDatagram.headerLength...])
    guard let message = try? DHCPMessage(validating: payload),
      message.clientHardwareAddress == configuration.outsideMAC, var client = dhcpClient
    else { return nil }
    let (answer, bound) = client.receive(message, at: now)
    dhcpClient = client
    if let answer { sendDHCPClientPayload(answer, from: nil) }
    if bound, let lease = client.lease {
      let changed = configuration.outsideAddress != lease.address
      configuration.outsideAddress = lease.address
      configuration.gateway = configuredGateway ?? lease.router
      if changed, let gateway = configuration.gateway { askOutside(gateway, at: now) }
    }
    return .consumed
  }

  /// Broadcasts a client message from `address` (0.0.0.0 before a lease).
  private mutating func sendDHCPClientPayload(_ payload: [UInt8], from address: IPv4Address?) {
    let source = address ?? .any
    let udp = UDPHeader(sourcePort: DHCPMessage.clientPort, destinationPort: DHCPMessage.serverPort)
      .emit(payload: payload, pseudoHeader: .ipv4(source: source, destination: .broadcast))
    let ip = IPv4Header(
      dontFragment: false, protocol: .udp, source: source, destination: .broadcast
    ).emit(payload: udp)
    let frame = EthernetHeader(
      destination: .broadcast, source: configuration.outsideMAC, payloadType: .ipv4
    ).emit(payload: ip)
    outbox.append(RouterFrame(leavesOutside: true, bytes: frame))
  }
}
