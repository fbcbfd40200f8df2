import PatchbayWire

/// What a DHCP client holds once a server acknowledged it.
public struct DHCPClientLease: Sendable, Hashable {
  /// The address and prefix leased.
  public var address: IPv4CIDR
  /// The router the server named, if any.
  public var router: IPv4Address?
  /// The server that granted it.
  public var server: IPv4Address
  /// When it was granted.
  public var granted: Instant
  /// When to renew it (T1).
  public var renewal: Instant
  /// When it runs out.
  public var expiry: Instant
}

/// A DHCP client (RFC 2131) for the NAT's own address on the physical network:
/// DISCOVER, REQUEST the first offer, renew at T1, start over when the lease
/// runs out or a server says NAK.
///
/// Pure: it is told the time and handed the server's messages, and returns
/// the BOOTP payloads to broadcast. Transaction ids come from a generator
/// seeded with the MAC, so runs are repeatable.
public struct DHCPClient: Sendable {
  enum State: Sendable, Hashable {
    case initial
    case selecting
    case requesting(offered: IPv4Address, server: IPv4Address, tries: Int)
    case bound
    case renewing
  }

  /// The client's MAC (chaddr).
  public let hardwareAddress: MACAddress
  /// The host name it sends (option 12).
  public let hostName: String?
  /// The lease in force, if any.
  public private(set) var lease: DHCPClientLease?
  private(set) var state = State.initial
  private var transactionID: UInt32
  private var lastSent = Instant.zero
  private var random: UInt64
  /// How long to wait for an answer before asking again.
  static let retry: UInt64 = 2_000_000_000
  /// REQUESTs sent for one offer before starting over.
  static let requestTries = 4

  /// A client that has not asked yet.
  public init(hardwareAddress: MACAddress, hostName: String? = nil) {
    self.hardwareAddress = hardwareAddress
    self.hostName = hostName
    random = hardwareAddress.rawValue | 1
    transactionID = 0
    transactionID = nextTransactionID()
  }

  /// Called about once a second: what to send now, if anything (the first
  /// DISCOVER, a retransmission, a renewal), and whether the lease ran out.
  public mutating func tick(at now: Instant) -> (send: [UInt8]?, lost: Bool) {
    if let lease, now >= lease.expiry {
      self.lease = nil
      state = .initial
      return (discover(at: now), true)
    }
    let waited = now.nanoseconds(since: lastSent) >= DHCPClient.retry
    switch state {
    case .initial:
      return (discover(at: now), false)
    case .selecting:
      return (waited ? discover(at: now) : nil, false)
    case .requesting(let offered, let server, let tries):
      guard waited else { return (nil, false) }
      guard tries < DHCPClient.requestTries else { return (discover(at: now), false) }
      state = .requesting(offered: offered, server: server, tries: tries + 1)
      return (request(offered, server: server, at: now), false)
    case .bound:
      guard let lease, now >= lease.renewal else { return (nil, false) }
      state = .renewing
      return (renew(lease, at: now), false)
    case .renewing:
      guard let lease, waited else { return (nil, false) }
      return (renew(lease, at: now), false)
    }
  }

  /// Takes a server's message; returns what to send in answer (a REQUEST for
  /// an offer) and whether a lease was (re)bound by it.
  public mutating func receive(_ message: DHCPMessage, at now: Instant) -> (
    send: [UInt8]?, bound: Bool
  ) {
    guard message.operation == DHCPMessage.bootReply,
      message.transactionID == transactionID,
      message.clientHardwareAddress == hardwareAddress
    else { return (nil, false) }
    switch (state, message.messageType) {
    case (.selecting, .offer):
      guard let server = message.serverIdentifier else { return (nil, false) }
      state = .requesting(offered: message.yourAddress, server: server, tries: 1)
      return (request(message.yourAddress, server: server, at: now), false)
    case (.requesting, .ack), (.renewing, .ack):
      lease = makeLease(message, at: now)
      state = lease == nil ? .initial : .bound
      return (nil, lease != nil)
    case (.requesting, .nak), (.renewing, .nak):
      lease = nil
      state = .initial
      return (discover(at: now), false)
    default:
      return (nil, false)
    }
  }

  private func makeLease(_ message: DHCPMessage, at now: Instant) -> DHCPClientLease? {
    let seconds = message.option(DHCPOptionCode.leaseTime).flatMap(Self.word) ?? 3600
    let prefix =
      message.option(DHCPOptionCode.subnetMask).flatMap(Self.word).map {
        $0.nonzeroBitCount
      } ?? 24
    guard let server = message.serverIdentifier,
      let address = IPv4CIDR(address: message.yourAddress, prefixLength: prefix)
    else { return nil }
    let router = message.option(DHCPOptionCode.router).flatMap(Self.word).map(IPv4Address.init)
    let renewalSeconds =
      message.option(DHCPOptionCode.renewalTime).flatMap(Self.word) ?? seconds / 2
    return DHCPClientLease(
      address: address, router: router, server: server, granted: now,
      renewal: now + .seconds(Int64(max(1, renewalSeconds))),
      expiry: now + .seconds(Int64(max(1, seconds))))
  }

  private static func word(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
    bytes.count >= 4 ? bytes.bigEndianUInt32(at: 0) : nil
  }

  private mutating func discover(at now: Instant) -> [UInt8] {
    transactionID = nextTransactionID()
    state = .selecting
    lastSent = now
    return DHCPRequestFields(
      messageType: .discover, transactionID: transactionID,
      flags: DHCPMessage.broadcastFlag, clientHardwareAddress: hardwareAddress, hostName: hostName
    ).emit()
  }

  private mutating func request(_ offered: IPv4Address, server: IPv4Address, at now: Instant)
    -> [UInt8]
  {
    lastSent = now
    return DHCPRequestFields(
      messageType: .request, transactionID: transactionID, flags: DHCPMessage.broadcastFlag,
      clientHardwareAddress: hardwareAddress, requestedAddress: offered,
      serverIdentifier: server, hostName: hostName
    ).emit()
  }

  private mutating func renew(_ lease: DHCPClientLease, at now: Instant) -> [UInt8] {
    lastSent = now
    return DHCPRequestFields(
      messageType: .request, transactionID: transactionID, flags: DHCPMessage.broadcastFlag,
      clientAddress: lease.address.address, clientHardwareAddress: hardwareAddress,
      hostName: hostName
    ).emit()
  }

  /// xorshift64: repeatable, and distinct enough between tries and clients.
  private mutating func nextTransactionID() -> UInt32 {
    random ^= random << 13
    random ^= random >> 7
    random ^= random << 17
    return UInt32(truncatingIfNeeded: random >> 16)
  }
}
