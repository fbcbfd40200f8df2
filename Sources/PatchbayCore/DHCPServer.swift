import PatchbayWire

/// What a DHCP server hands out on its subnet.
public struct DHCPServerConfiguration: Hashable, Sendable {
  /// The server's own address: its server identifier, never handed out.
  public var serverAddress: IPv4Address
  /// The subnet served, for the subnet mask and to tell foreign addresses from ours.
  public var subnet: IPv4CIDR
  /// The first address of the dynamic pool.
  public var rangeStart: IPv4Address
  /// The last address of the dynamic pool (inclusive).
  public var rangeEnd: IPv4Address
  /// How long a lease lasts; announced in whole seconds, at least one.
  public var lease: Duration
  /// The router announced to clients (option 3), if any.
  public var router: IPv4Address?
  /// The domain name server announced to clients (option 6), if any.
  public var domainNameServer: IPv4Address?
  /// Addresses always given to a MAC, even outside the pool; nobody else gets them.
  public var fixedLeases: [MACAddress: IPv4Address]
  /// Addresses never handed out dynamically: statically addressed hosts.
  public var excluded: Set<IPv4Address>

  /// Makes a configuration.
  public init(
    serverAddress: IPv4Address, subnet: IPv4CIDR,
    rangeStart: IPv4Address, rangeEnd: IPv4Address, lease: Duration = .seconds(3_600),
    router: IPv4Address? = nil, domainNameServer: IPv4Address? = nil,
    fixedLeases: [MACAddress: IPv4Address] = [:], excluded: Set<IPv4Address> = []
  ) {
    self.serverAddress = serverAddress
    self.subnet = subnet
    self.rangeStart = rangeStart
    self.rangeEnd = rangeEnd
    self.lease = lease
    self.router = router
    self.domainNameServer = domainNameServer
    self.fixedLeases = fixedLeases
    self.excluded = excluded
  }
}

/// A bound lease, as `DHCPServer.leases(at:)` reports it.
public struct DHCPLease: Hashable, Sendable {
  /// The client's MAC address.
  public var hardwareAddress: MACAddress
  /// The address leased.
  public var address: IPv4Address
  /// When the lease ends unless renewed.
  public var expiry: Instant
  /// True when the address is the MAC's fixed lease.
  public var isFixed: Bool
  /// The host name the client gave, if any.
  public var hostName: String?
  /// ACKs given for this lease: 1 after the first, 2 after a renewal, and so on.
  public var grantCount: Int

  /// Makes a lease value.
  public init(
    hardwareAddress: MACAddress, address: IPv4Address, expiry: Instant,
    isFixed: Bool = false, hostName: String? = nil, grantCount: Int = 1
  ) {
    self.hardwareAddress = hardwareAddress
    self.address = address
    self.expiry = expiry
    self.isFixed = isFixed
    self.hostName = hostName
    self.grantCount = grantCount
  }
}

/// Event counters of a DHCP server.
///
/// `discovers`, `requests`, `releases`, `declines` and `informs` count client
/// messages received; `offers`, `acks` and `naks` count replies made. `ignored`
/// counts messages not acted on: not from a client (op 2), of a server-only type,
/// from a multicast or zero MAC, an INFORM without ciaddr, a REQUEST in no state
/// RFC 2131 defines, a DECLINE or RELEASE for an address not the client's or
/// naming another server. `poolExhausted` counts DISCOVERs left unanswered for
/// want of a free address.
public struct DHCPServerStatistics: Hashable, Sendable {
  /// DHCPDISCOVERs received.
  public var discovers: Int
  /// DHCPOFFERs made.
  public var offers: Int
  /// DHCPREQUESTs received.
  public var requests: Int
  /// DHCPACKs made, to REQUESTs and INFORMs.
  public var acks: Int
  /// DHCPNAKs made.
  public var naks: Int
  /// DHCPRELEASEs received.
  public var releases: Int
  /// DHCPDECLINEs received.
  public var declines: Int
  /// DHCPINFORMs received.
  public var informs: Int
  /// DISCOVERs unanswered because no address was free.
  public var poolExhausted: Int
  /// Messages not acted on.
  public var ignored: Int

  /// Makes counters, zero unless given.
  public init(
    discovers: Int = 0, offers: Int = 0, requests: Int = 0, acks: Int = 0, naks: Int = 0,
    releases: Int = 0, declines: Int = 0, informs: Int = 0, poolExhausted: Int = 0,
    ignored: Int = 0
  ) {
    self.discovers = discovers
    self.offers = offers
    self.requests = requests
    self.acks = acks
    self.naks = naks
    self.releases = releases
    self.declines = declines
    self.informs = informs
    self.poolExhausted = poolExhausted
    self.ignored = ignored
  }
}

/// A DHCPv4 server for one subnet (RFC 2131 §4.3), as a pure function of
/// (message, now, state): it never reads a clock and never does I/O.
///
/// Each MAC has at most one binding, and each address at most one MAC. A
/// binding is an offer (held for `offerHold`), a bound lease, or a memory of a
/// released or expired one, which lets a returning client get its old address
/// again. Offers and leases expire lazily: past its expiry a binding is free for
/// others, who take remembered addresses only when no address was never handed
/// out. The server is authoritative: it NAKs a client asking for an address it
/// cannot have rather than staying silent, so clients on a lab segment fall back
/// to DISCOVER at once.
public struct DHCPServer: Sendable {
  /// How long an offered address is held for its client.
  public static let offerHold = Duration.seconds(60)

  /// The configuration served.
  public let configuration: DHCPServerConfiguration
  /// Event counters.
  public private(set) var statistics = DHCPServerStatistics()

  private enum BindingState: Sendable {
    case offered
    case bound
    case released
  }

  private struct Binding: Sendable {
    var address: IPv4Address
    var state: BindingState
    var expiry: Instant
    var hostName: String?
    var grantCount: Int

    func isActive(at now: Instant) -> Bool { state != .released && now < expiry }
    func isBound(at now: Instant) -> Bool { state == .bound && now < expiry }
  }

  private var bindings: [MACAddress: Binding] = [:]
  private var owners: [IPv4Address: MACAddress] = [:]
  // Declined addresses and when they become usable again.
  private var declined: [IPv4Address: Instant] = [:]
  private let fixedOwners: [IPv4Address: MACAddress]
  // The pool clipped to the subnet, so a scan never wanders outside it; nil when empty.
  private let pool: ClosedRange<UInt32>?
  private let leaseSeconds: UInt32
  private let subnetMask: IPv4Address

  /// Makes a server with no bindings.
  public init(configuration: DHCPServerConfiguration) {
    self.configuration = configuration
    // Should two MACs share a fixed address (a configuration error), the lower one owns it.
    fixedOwners = Dictionary(
      configuration.fixedLeases.map { ($0.value, $0.key) }, uniquingKeysWith: min)
    let subnet = configuration.subnet
    let low = max(configuration.rangeStart.rawValue, subnet.network.rawValue)
    let high = min(configuration.rangeEnd.rawValue, subnet.broadcast.rawValue)
    pool = low <= high ? low...high : nil
    let seconds = configuration.lease.components.seconds
    leaseSeconds = UInt32(clamping: max(1, seconds))
    subnetMask = IPv4Address(rawValue: subnet.mask)
  }

  /// Answers a message from a client at `now`, or returns nil when no answer is due.
  public mutating func reply(to message: DHCPMessage, at now: Instant) -> DHCPReply? {
    guard message.operation == DHCPMessage.bootRequest,
      message.clientHardwareAddress.isValidSource
    else {
      statistics.ignored += 1
      return nil
    }
    switch message.messageType {
    case .discover:
      statistics.discovers += 1
      return offer(to: message, at: now)
    case .request:
      statistics.requests += 1
      return answerRequest(message, at: now)
    case .decline:
      statistics.declines += 1
      decline(message, at: now)
      return nil
    case .release:
      statistics.releases += 1
      release(message, at: now)
      return nil
    case .inform:
      statistics.informs += 1
      return answerInform(message)
    case .offer, .ack, .nak:
      statistics.ignored += 1
      return nil
    }
  }

  /// The bound, unexpired leases at `now`, sorted by address.
  public func leases(at now: Instant) -> [DHCPLease] {
    bindings.compactMap { mac, binding -> DHCPLease? in
      guard binding.isBound(at: now) else { return nil }
      return DHCPLease(
        hardwareAddress: mac, address: binding.address, expiry: binding.expiry,
        isFixed: configuration.fixedLeases[mac] == binding.address,
        hostName: binding.hostName, grantCount: binding.grantCount)
    }.sorted { $0.address < $1.address }
  }

  // MARK: Messages

  private mutating func offer(to message: DHCPMessage, at now: Instant) -> DHCPReply? {
    let mac = message.clientHardwareAddress
    guard let address = allocate(for: mac, requested: message.requestedAddress, at: now) else {
      statistics.poolExhausted += 1
      return nil
    }
    let previous = bindings[mac]
    // A bound client that starts over keeps its lease; the offer must not shorten it.
    let keepsLease = previous.map { $0.address == address && $0.isBound(at: now) } ?? false
    if !keepsLease {
      take(address, for: mac)
      let sameAddress = previous?.address == address
      bindings[mac] = Binding(
        address: address, state: .offered, expiry: now + DHCPServer.offerHold,
        hostName: message.hostName ?? (sameAddress ? previous?.hostName : nil),
        grantCount: sameAddress ? previous?.grantCount ?? 0 : 0)
    }
    statistics.offers += 1
    return reply(.offer, to: message, yourAddress: address)
  }

  private mutating func answerRequest(_ message: DHCPMessage, at now: Instant) -> DHCPReply? {
    let mac = message.clientHardwareAddress
    if let chosen = message.serverIdentifier {
      // SELECTING: the client answers an offer, ours or another server's.
      guard chosen == configuration.serverAddress else {
        if var binding = bindings[mac], binding.state == .offered {
          binding.state = .released
          binding.expiry = now
          bindings[mac] = binding
        }
        return nil
      }
      let clientAddress = message.clientAddress == .any ? nil : message.clientAddress
      guard let requested = message.requestedAddress ?? clientAddress,
        isClientsAddress(requested, for: mac, at: now)
      else { return nak(message, reason: "requested address was not offered") }
      return acknowledge(message, address: requested, at: now)
    }
    if message.clientAddress != .any {
      // RENEWING (unicast) or REBINDING (broadcast): the client names its address in ciaddr.
      guard isClientsAddress(message.clientAddress, for: mac, at: now) else {
        return nak(message, reason: "address is not leased to this client")
      }
      return acknowledge(message, address: message.clientAddress, at: now)
    }
    guard let requested = message.requestedAddress else {
      statistics.ignored += 1
      return nil
    }
    // INIT-REBOOT: the client wants to keep an address it remembers.
    if let fixed = configuration.fixedLeases[mac] {
      guard requested == fixed else {
        return nak(message, reason: "client has a fixed address")
      }
      return acknowledge(message, address: requested, at: now)
    }
    guard configuration.subnet.contains(requested) else {
      return nak(message, reason: "address is not on this subnet")
    }
    guard
      isClientsAddress(requested, for: mac, at: now) || isAssignable(requested, to: mac, at: now)
    else { return nak(message, reason: "address is not available") }
    return acknowledge(message, address: requested, at: now)
  }

  private mutating func decline(_ message: DHCPMessage, at now: Instant) {
    let mac = message.clientHardwareAddress
    guard message.serverIdentifier.map({ $0 == configuration.serverAddress }) ?? true,
      let address = message.requestedAddress,
      bindings[mac]?.address == address || configuration.fixedLeases[mac] == address
    else {
      statistics.ignored += 1
      return
    }
    // Someone else uses the address: keep it from everyone for a lease time.
    declined[address] = now + .seconds(leaseSeconds)
    forget(mac)
  }

  private mutating func release(_ message: DHCPMessage, at now: Instant) {
    let mac = message.clientHardwareAddress
    guard message.serverIdentifier.map({ $0 == configuration.serverAddress }) ?? true,
      var binding = bindings[mac], binding.address == message.clientAddress
    else {
      statistics.ignored += 1
      return
    }
    // Kept as a memory, so the client gets the same address when it comes back.
    binding.state = .released
    binding.expiry = now
    bindings[mac] = binding
  }

  private mutating func answerInform(_ message: DHCPMessage) -> DHCPReply? {
    // The answer goes to ciaddr (RFC 2131 §4.3.5); without one there is nowhere to send it.
    guard message.clientAddress != .any else {
      statistics.ignored += 1
      return nil
    }
    statistics.acks += 1
    var answer = reply(.ack, to: message, yourAddress: .any)
    answer.clientAddress = message.clientAddress
    answer.leaseSeconds = nil
    return answer
  }

  // MARK: Replies

  private mutating func acknowledge(
    _ message: DHCPMessage, address: IPv4Address, at now: Instant
  ) -> DHCPReply {
    let mac = message.clientHardwareAddress
    let previous = bindings[mac]
    let sameAddress = previous?.address == address
    let extending = sameAddress && previous?.isBound(at: now) == true
    take(address, for: mac)
    bindings[mac] = Binding(
      address: address, state: .bound, expiry: now + .seconds(leaseSeconds),
      hostName: message.hostName ?? (sameAddress ? previous?.hostName : nil),
      grantCount: extending ? (previous?.grantCount ?? 0) + 1 : 1)
    statistics.acks += 1
    var answer = reply(.ack, to: message, yourAddress: address)
    answer.clientAddress = message.clientAddress
    return answer
  }

  private mutating func nak(_ message: DHCPMessage, reason: String) -> DHCPReply {
    statistics.naks += 1
    // RFC 2131 Table 3: a NAK carries no address, lease or configuration.
    return DHCPReply(
      messageType: .nak, transactionID: message.transactionID, flags: message.flags,
      clientAddress: .any, yourAddress: .any,
      clientHardwareAddress: message.clientHardwareAddress,
      serverIdentifier: configuration.serverAddress, message: reason)
  }

  private func reply(
    _ type: DHCPMessageType, to message: DHCPMessage, yourAddress: IPv4Address
  ) -> DHCPReply {
    DHCPReply(
      messageType: type, transactionID: message.transactionID, flags: message.flags,
      clientAddress: .any, yourAddress: yourAddress,
      clientHardwareAddress: message.clientHardwareAddress,
      serverIdentifier: configuration.serverAddress, leaseSeconds: leaseSeconds,
      subnetMask: subnetMask, router: configuration.router,
      domainNameServer: configuration.domainNameServer)
  }

  // MARK: Addresses

  /// The address to offer `mac`, in the order of RFC 2131 §4.3.1, or nil when none is free.
  private func allocate(
    for mac: MACAddress, requested: IPv4Address?, at now: Instant
  ) -> IPv4Address? {
    if let fixed = configuration.fixedLeases[mac] { return fixed }
    if let binding = bindings[mac], isAssignable(binding.address, to: mac, at: now) {
      return binding.address
    }
    if let requested, isAssignable(requested, to: mac, at: now) { return requested }
    guard let pool else { return nil }
    // Never-used addresses first, so a client that comes back finds its old one.
    // Every address skipped sits in one of the server's tables, so a scan is
    // bounded by their size, not by the size of the pool.
    for raw in pool {
      let address = IPv4Address(rawValue: raw)
      if owners[address] == nil, isFree(address, for: mac, at: now) { return address }
    }
    for raw in pool {
      let address = IPv4Address(rawValue: raw)
      if isFree(address, for: mac, at: now) { return address }
    }
    return nil
  }

  /// True when `address` is `mac`'s: its fixed address, or its binding's while
  /// held or, once lapsed, while nobody else took it.
  private func isClientsAddress(
    _ address: IPv4Address, for mac: MACAddress, at now: Instant
  ) -> Bool {
    if let fixed = configuration.fixedLeases[mac] { return address == fixed }
    guard let binding = bindings[mac], binding.address == address else { return false }
    return binding.isActive(at: now) || isAssignable(address, to: mac, at: now)
  }

  /// True when `address` is in the pool and free for `mac`.
  private func isAssignable(_ address: IPv4Address, to mac: MACAddress, at now: Instant) -> Bool {
    guard let pool, pool.contains(address.rawValue) else { return false }
    return isFree(address, for: mac, at: now)
  }

  /// True when nothing stops `mac` from getting `address` dynamically: it is a
  /// host address of the subnet, not the server's, router's or DNS server's, not
  /// excluded, not another MAC's fixed address, not declined and not held by another MAC.
  private func isFree(_ address: IPv4Address, for mac: MACAddress, at now: Instant) -> Bool {
    let subnet = configuration.subnet
    guard subnet.contains(address), address != configuration.serverAddress,
      address != configuration.router, address != configuration.domainNameServer,
      !configuration.excluded.contains(address)
    else { return false }
    // /31 and /32 have no network and broadcast addresses (RFC 3021).
    if subnet.prefixLength <= 30, address == subnet.network || address == subnet.broadcast {
      return false
    }
    if let owner = fixedOwners[address], owner != mac { return false }
    if let until = declined[address], now < until { return false }
    if let owner = owners[address], owner != mac, bindings[owner]?.isActive(at: now) == true {
      return false
    }
    return true
  }

  /// Makes `address` `mac`'s alone: another MAC's lapsed binding of it, and `mac`'s
  /// hold on any other address, are forgotten.
  private mutating func take(_ address: IPv4Address, for mac: MACAddress) {
    if let owner = owners[address], owner != mac { bindings[owner] = nil }
    if let old = bindings[mac]?.address, old != address, owners[old] == mac { owners[old] = nil }
    owners[address] = mac
  }

  private mutating func forget(_ mac: MACAddress) {
    guard let binding = bindings.removeValue(forKey: mac) else { return }
    if owners[binding.address] == mac { owners[binding.address] = nil }
  }
}
