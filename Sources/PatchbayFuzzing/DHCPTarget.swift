import PatchbayCore
import PatchbayWire

/// The `dhcp` target: DHCP messages from the fuzzer to a lab's DHCP server and
/// to the NAT's DHCP client, between rounds in which the client talks to the
/// server for real, with time moving as the input says.
///
/// Records: a command byte (0: a message to the server; 1: a message to the
/// client; 2: the client ticks and talks to the server until it has nothing
/// more to say), a time step byte (seconds) and, for messages, a length-prefixed
/// UDP payload. The pool has eleven addresses with one excluded, and fixed
/// leases inside and outside it, so clients compete for addresses.
///
/// Checked: every message parses the same after a round trip; every reply
/// parses back to what was sent; no two clients ever hold one address, and no
/// lease takes an address that is excluded, the server's, or outside the pool
/// (fixed leases aside); a client that was acknowledged holds what the server
/// granted.
public func fuzzDHCP(_ bytes: UnsafeRawBufferPointer) {
  var input = FuzzInput(bytes)
  var run = DHCPRun()
  while !input.isAtEnd {
    let command = input.byte() % 3
    run.now = run.now + .seconds(Int64(input.byte()))
    switch command {
    case 0:
      let payload = input.chunk()
      if let message = DHCPMessages.read(payload) { run.serve(message) }
    case 1:
      let payload = input.chunk()
      if let message = DHCPMessages.read(payload) { _ = run.client.receive(message, at: run.now) }
    default:
      run.converse()
    }
    run.checkLeases()
  }
}

/// A DHCP server, a client of it, and the clock.
private struct DHCPRun {
  static let serverAddress = IPv4Address(10, 0, 10, 1)
  static let subnet = IPv4CIDR("10.0.10.1/24")!
  static let excluded = IPv4Address(10, 0, 10, 12)
  static let pool = IPv4Address(10, 0, 10, 10)...IPv4Address(10, 0, 10, 20)
  static let fixed: [MACAddress: IPv4Address] = [
    MACAddress(0x02, 0, 0, 0, 0, 0x07): IPv4Address(10, 0, 10, 50),
    MACAddress(0x02, 0, 0, 0, 0, 0x08): IPv4Address(10, 0, 10, 15),
  ]

  var server = DHCPServer(
    configuration: DHCPServerConfiguration(
      serverAddress: DHCPRun.serverAddress, subnet: DHCPRun.subnet,
      rangeStart: DHCPRun.pool.lowerBound, rangeEnd: DHCPRun.pool.upperBound,
      lease: .seconds(120), router: DHCPRun.serverAddress,
      domainNameServer: IPv4Address(10, 0, 10, 53), fixedLeases: DHCPRun.fixed,
      excluded: [DHCPRun.excluded]))
  var client = DHCPClient(hardwareAddress: MACAddress(0x02, 0, 0, 0, 0, 0x42), hostName: "fuzz")
  var now = Instant.seconds(1)

  /// The server's answer to `message`, checked and parsed; nil when it gives none.
  @discardableResult
  mutating func serve(_ message: DHCPMessage) -> [UInt8]? {
    guard let reply = server.reply(to: message, at: now) else { return nil }
    let bytes = reply.emit()
    bytes.withUnsafeBytes { raw in
      guard let parsed = try? DHCPMessage(validating: raw) else {
        fatalError("invariant violated: a reply does not parse: \(reply)")
      }
      invariant(parsed.operation == DHCPMessage.bootReply, "a reply is a BOOTREPLY")
      invariant(
        parsed.messageType == reply.messageType && parsed.transactionID == reply.transactionID
          && parsed.yourAddress == reply.yourAddress
          && parsed.clientHardwareAddress == reply.clientHardwareAddress
          && parsed.serverIdentifier == DHCPRun.serverAddress,
        "a reply parses as something else: \(reply)")
      invariant(parsed.transactionID == message.transactionID, "a reply to another transaction")
      if reply.messageType == .offer || (reply.messageType == .ack && reply.yourAddress != .any) {
        checkGrantable(reply.yourAddress, to: reply.clientHardwareAddress)
      }
    }
    return bytes
  }

  /// The client ticks, then it and the server talk until neither has more to say.
  mutating func converse() {
    var outgoing = client.tick(at: now).send
    var rounds = 0
    while let payload = outgoing, rounds < 4 {
      rounds += 1
      outgoing = nil
      let answer: [UInt8]? = payload.withUnsafeBytes { raw in
        guard let message = DHCPMessages.read(raw) else {
          fatalError("invariant violated: the client sent an unparseable message")
        }
        return serve(message)
      }
      guard let answer else { break }
      answer.withUnsafeBytes { raw in
        guard let message = try? DHCPMessage(validating: raw) else { return }
        let (send, bound) = client.receive(message, at: now)
        outgoing = send
        if bound {
          let granted = server.leases(at: now).first {
            $0.hardwareAddress == client.hardwareAddress
          }
          invariant(
            client.lease?.address.address == granted?.address,
            "the client holds \(String(describing: client.lease)), the server granted \(String(describing: granted))"
          )
        }
      }
    }
  }

  /// An address the server may give `mac`: its fixed one, or a free one of the pool.
  private func checkGrantable(_ address: IPv4Address, to mac: MACAddress) {
    if let fixed = DHCPRun.fixed[mac] {
      invariant(address == fixed, "\(mac) was given \(address), not its fixed \(fixed)")
      return
    }
    invariant(DHCPRun.pool.contains(address), "\(address) given from outside the pool")
    invariant(address != DHCPRun.excluded, "the excluded \(address) was given")
    invariant(
      !DHCPRun.fixed.contains { $0.value == address }, "another MAC's fixed \(address) was given")
  }

  /// No two clients hold one address; every lease is one the server may give.
  func checkLeases() {
    var holders: [IPv4Address: MACAddress] = [:]
    for lease in server.leases(at: now) {
      if let other = holders.updateValue(lease.hardwareAddress, forKey: lease.address) {
        fatalError(
          "invariant violated: \(lease.address) leased to \(other) and \(lease.hardwareAddress)")
      }
      invariant(lease.address != DHCPRun.serverAddress, "the server's own address was leased")
      invariant(lease.expiry > now, "an expired lease is listed")
      checkGrantable(lease.address, to: lease.hardwareAddress)
    }
  }
}
