import PatchbayCore
import PatchbayWire
import Testing

/// A locally administered unicast address ending in `n`.
private func mac(_ n: UInt64) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | n) }

/// 10.0.10.`host`.
private func ip(_ host: UInt8) -> IPv4Address { IPv4Address(10, 0, 10, host) }

private let serverAddress = ip(1)
private let otherServer = ip(254)
private let t0 = Instant.seconds(1_000)
private let hour: UInt64 = 3_600

/// A server on 10.0.10.0/24 handing out `first` through `last`, one-hour leases.
private func makeServer(
  first: UInt8 = 100, last: UInt8 = 199,
  fixed: [MACAddress: IPv4Address] = [:], excluded: Set<IPv4Address> = [],
  lease: Duration = .seconds(3_600)
) -> DHCPServer {
  DHCPServer(
    configuration: DHCPServerConfiguration(
      serverAddress: serverAddress, subnet: IPv4CIDR("10.0.10.1/24")!,
      rangeStart: ip(first), rangeEnd: ip(last), lease: lease, router: serverAddress,
      domainNameServer: ip(53), fixedLeases: fixed, excluded: excluded))
}

// What clients send, in each state of RFC 2131 §4.4.

private func discover(_ client: MACAddress, requesting: IPv4Address? = nil) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .discover, transactionID: 0xD1, clientHardwareAddress: client,
    requestedAddress: requesting)
}

private func select(
  _ client: MACAddress, _ address: IPv4Address, server: IPv4Address = serverAddress,
  hostName: String? = nil
) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .request, transactionID: 0x5E, clientHardwareAddress: client,
    requestedAddress: address, serverIdentifier: server, hostName: hostName)
}

private func reboot(_ client: MACAddress, _ address: IPv4Address) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .request, transactionID: 0xB0, clientHardwareAddress: client,
    requestedAddress: address)
}

private func renew(_ client: MACAddress, _ address: IPv4Address) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .request, transactionID: 0x4E, clientAddress: address,
    clientHardwareAddress: client)
}

private func release(_ client: MACAddress, _ address: IPv4Address) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .release, transactionID: 0x4E1, clientAddress: address,
    clientHardwareAddress: client, serverIdentifier: serverAddress)
}

private func decline(_ client: MACAddress, _ address: IPv4Address) -> DHCPRequestFields {
  DHCPRequestFields(
    messageType: .decline, transactionID: 0xDE, clientHardwareAddress: client,
    requestedAddress: address, serverIdentifier: serverAddress)
}

extension DHCPServer {
  /// Answers `fields` as the client would send them, through the wire format.
  fileprivate mutating func answer(_ fields: DHCPRequestFields, at now: Instant) -> DHCPReply? {
    answer(bytes: fields.emit(), at: now)
  }

  fileprivate mutating func answer(bytes: [UInt8], at now: Instant) -> DHCPReply? {
    bytes.withUnsafeBytes { buffer in
      do {
        return reply(to: try DHCPMessage(validating: buffer), at: now)
      } catch {
        Issue.record("the test built an invalid message: \(error)")
        return nil
      }
    }
  }

  /// DISCOVER then REQUEST the offer; the address acknowledged.
  fileprivate mutating func lease(_ client: MACAddress, at now: Instant) -> IPv4Address? {
    guard let offer = answer(discover(client), at: now), offer.messageType == .offer,
      let ack = answer(select(client, offer.yourAddress), at: now), ack.messageType == .ack
    else { return nil }
    return ack.yourAddress
  }
}

@Suite("DHCPServer")
struct DHCPServerTests {
  // MARK: The exchange

  @Test func offersAndAcknowledgesWithTheConfiguration() {
    var server = makeServer()
    #expect(server.configuration.serverAddress == serverAddress)
    let offer = server.answer(discover(mac(1)), at: t0)
    #expect(
      offer
        == DHCPReply(
          messageType: .offer, transactionID: 0xD1, flags: 0, clientAddress: .any,
          yourAddress: ip(100), clientHardwareAddress: mac(1), serverIdentifier: serverAddress,
          leaseSeconds: 3_600, subnetMask: IPv4Address(255, 255, 255, 0), router: serverAddress,
          domainNameServer: ip(53)))
    // An offer is not a lease.
    #expect(server.leases(at: t0).isEmpty)

    let ack = server.answer(select(mac(1), ip(100), hostName: "vm1"), at: t0 + .seconds(1))
    #expect(
      ack
        == DHCPReply(
          messageType: .ack, transactionID: 0x5E, flags: 0, clientAddress: .any,
          yourAddress: ip(100), clientHardwareAddress: mac(1), serverIdentifier: serverAddress,
          leaseSeconds: 3_600, subnetMask: IPv4Address(255, 255, 255, 0), router: serverAddress,
          domainNameServer: ip(53)))
    #expect(
      server.leases(at: t0 + .seconds(1)) == [
        DHCPLease(
          hardwareAddress: mac(1), address: ip(100), expiry: t0 + .seconds(1 + hour),
          isFixed: false, hostName: "vm1", grantCount: 1)
      ])
    #expect(
      server.statistics == DHCPServerStatistics(discovers: 1, offers: 1, requests: 1, acks: 1))
  }

  @Test func theBroadcastFlagIsEchoed() {
    var server = makeServer()
    var fields = discover(mac(1))
    fields.flags = 0x8000
    #expect(server.answer(fields, at: t0)?.isBroadcast == true)
  }

  @Test func distinctClientsGetDistinctAddresses() {
    var server = makeServer()
    let addresses = (1...5).map { server.lease(mac($0), at: t0) }
    #expect(addresses == [ip(100), ip(101), ip(102), ip(103), ip(104)])
    #expect(server.leases(at: t0).map(\.hardwareAddress) == (1...5).map(mac))
    #expect(server.leases(at: t0).map(\.address) == (100...104).map(ip))
  }

  @Test func aDiscoverAsksForAnAddress() {
    var server = makeServer()
    #expect(server.answer(discover(mac(1), requesting: ip(150)), at: t0)?.yourAddress == ip(150))
    // Outside the range, or held by another client: the lowest free address instead.
    #expect(server.answer(discover(mac(2), requesting: ip(20)), at: t0)?.yourAddress == ip(100))
    #expect(server.answer(discover(mac(3), requesting: ip(150)), at: t0)?.yourAddress == ip(101))
    #expect(
      server.answer(discover(mac(4), requesting: IPv4Address(192, 168, 1, 5)), at: t0)?
        .yourAddress == ip(102))
  }

  @Test func aClientGetsItsAddressAgainAfterItsLeaseExpires() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.lease(mac(2), at: t0) == ip(101))
    let later = t0 + .seconds(hour)
    #expect(server.leases(at: t0 + .seconds(hour - 1)).count == 2)
    #expect(server.leases(at: later).isEmpty)
    // A newcomer gets a never-used address, so the old clients' remain theirs.
    #expect(server.lease(mac(3), at: later) == ip(102))
    #expect(server.lease(mac(2), at: later) == ip(101))
    #expect(server.lease(mac(1), at: later) == ip(100))
    // A lapsed lease starts over.
    #expect(server.leases(at: later).map(\.grantCount) == [1, 1, 1])
  }

  @Test func aRememberedAddressIsReclaimedOnlyWhenNothingElseIsFree() {
    var server = makeServer(first: 100, last: 101)
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.lease(mac(2), at: t0) == ip(101))
    let later = t0 + .seconds(hour)
    // Both addresses remembered for lapsed clients: the lowest is taken.
    #expect(server.lease(mac(3), at: later) == ip(100))
    #expect(server.lease(mac(2), at: later) == ip(101))
    // mac(1) lost its address to mac(3): nothing is left for it.
    #expect(server.answer(discover(mac(1)), at: later) == nil)
    #expect(server.statistics.poolExhausted == 1)
  }

  // MARK: Renewing and rebinding

  @Test func aRenewalExtendsTheLease() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let halfway = t0 + .seconds(hour / 2)
    let ack = server.answer(renew(mac(1), ip(100)), at: halfway)
    #expect(ack?.messageType == .ack)
    #expect(ack?.clientAddress == ip(100))
    #expect(ack?.yourAddress == ip(100))
    #expect(ack?.leaseSeconds == 3_600)
    let lease = server.leases(at: halfway).first
    #expect(lease?.expiry == halfway + .seconds(hour))
    #expect(lease?.grantCount == 2)
    // Still there after the first lease would have ended.
    #expect(server.leases(at: t0 + .seconds(hour + 1)).map(\.address) == [ip(100)])
    #expect(server.answer(renew(mac(1), ip(100)), at: halfway + .seconds(60))?.messageType == .ack)
    #expect(server.leases(at: halfway).first?.grantCount == 3)
  }

  @Test func aRebindingAfterExpiryIsGrantedWhileTheAddressIsFree() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let late = t0 + .seconds(2 * hour)
    #expect(server.answer(renew(mac(1), ip(100)), at: late)?.messageType == .ack)
    #expect(server.leases(at: late).first?.grantCount == 1)
    #expect(server.leases(at: late).first?.expiry == late + .seconds(hour))
  }

  @Test func aRenewalOfAnotherAddressIsRefused() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.lease(mac(2), at: t0) == ip(101))
    let nak = server.answer(renew(mac(1), ip(101)), at: t0)
    #expect(nak?.messageType == .nak)
    #expect(nak?.clientAddress == .any)
    #expect(nak?.yourAddress == .any)
    #expect(nak?.serverIdentifier == serverAddress)
    #expect(nak?.leaseSeconds == nil)
    #expect(nak?.subnetMask == nil)
    #expect(nak?.router == nil)
    #expect(nak?.domainNameServer == nil)
    #expect(nak?.message != nil)
    #expect(server.answer(renew(mac(1), ip(150)), at: t0)?.messageType == .nak)
    #expect(server.answer(renew(mac(3), ip(150)), at: t0)?.messageType == .nak)
    // The refusals changed nothing.
    #expect(server.leases(at: t0).map(\.address) == [ip(100), ip(101)])
    #expect(server.statistics.naks == 3)
  }

  @Test func aLapsedAddressTakenByAnotherClientIsRefused() {
    var server = makeServer(first: 100, last: 100)
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let later = t0 + .seconds(hour)
    #expect(server.lease(mac(2), at: later) == ip(100))
    #expect(server.answer(renew(mac(1), ip(100)), at: later)?.messageType == .nak)
    #expect(server.answer(reboot(mac(1), ip(100)), at: later)?.messageType == .nak)
  }

  @Test func aSelectionOfAnAddressNotOfferedIsRefused() {
    var server = makeServer()
    #expect(server.answer(discover(mac(1)), at: t0)?.yourAddress == ip(100))
    #expect(server.answer(select(mac(1), ip(101)), at: t0)?.messageType == .nak)
    // A client nobody offered anything.
    #expect(server.answer(select(mac(2), ip(102)), at: t0)?.messageType == .nak)
    #expect(server.leases(at: t0).isEmpty)
    // The offer stands.
    #expect(server.answer(select(mac(1), ip(100)), at: t0)?.messageType == .ack)
  }

  @Test func aBoundClientThatStartsOverKeepsItsLease() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let later = t0 + .seconds(600)
    #expect(server.answer(discover(mac(1)), at: later)?.yourAddress == ip(100))
    #expect(server.leases(at: later).first?.expiry == t0 + .seconds(hour))
    #expect(server.answer(select(mac(1), ip(100)), at: later)?.messageType == .ack)
    #expect(server.leases(at: later).first?.grantCount == 2)
  }

  // MARK: INIT-REBOOT

  @Test func aRebootingClientKeepsItsAddress() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let ack = server.answer(reboot(mac(1), ip(100)), at: t0 + .seconds(10))
    #expect(ack?.messageType == .ack)
    #expect(ack?.yourAddress == ip(100))
    #expect(ack?.clientAddress == .any)
    #expect(server.leases(at: t0 + .seconds(10)).first?.grantCount == 2)
  }

  @Test func aRebootingClientGetsAFreeAddressOfThePool() {
    // As after a server restart: the server has no record, the address is free.
    var server = makeServer()
    #expect(server.answer(reboot(mac(1), ip(150)), at: t0)?.yourAddress == ip(150))
    #expect(server.leases(at: t0).map(\.address) == [ip(150)])
    // The pool's lowest addresses are still the first handed out.
    #expect(server.lease(mac(2), at: t0) == ip(100))
  }

  @Test func aRebootingClientIsRefusedAnAddressNotItsOwn() {
    var server = makeServer(excluded: [ip(120)])
    #expect(server.lease(mac(1), at: t0) == ip(100))
    let refused: [IPv4Address] = [
      ip(100),  // another client's
      IPv4Address(192, 168, 1, 5),  // another subnet
      ip(120),  // excluded
      ip(20),  // outside the pool
      serverAddress, ip(53),  // the server's and the DNS server's
    ]
    for address in refused {
      let nak = server.answer(reboot(mac(2), address), at: t0)
      #expect(nak?.messageType == .nak, "\(address)")
    }
    #expect(server.leases(at: t0).map(\.hardwareAddress) == [mac(1)])
  }

  @Test func aRequestInNoStateIsIgnored() {
    var server = makeServer()
    let bare = DHCPRequestFields(
      messageType: .request, transactionID: 1, clientHardwareAddress: mac(1))
    #expect(server.answer(bare, at: t0) == nil)
    #expect(server.statistics == DHCPServerStatistics(requests: 1, ignored: 1))
  }

  // MARK: Fixed leases and exclusions

  @Test func aFixedAddressIsAlwaysTheClients() {
    let fixedInside = mac(0xF1)
    let fixedOutside = mac(0xF2)
    var server = makeServer(
      first: 100, last: 102, fixed: [fixedInside: ip(100), fixedOutside: ip(50)])
    // Nobody else gets the fixed address in the pool, even when asking for it.
    #expect(server.answer(discover(mac(1), requesting: ip(100)), at: t0)?.yourAddress == ip(101))
    #expect(server.answer(reboot(mac(2), ip(100)), at: t0)?.messageType == .nak)
    #expect(server.answer(reboot(mac(2), ip(50)), at: t0)?.messageType == .nak)

    #expect(server.lease(fixedInside, at: t0) == ip(100))
    #expect(server.lease(fixedOutside, at: t0) == ip(50))
    // Whatever it asks for.
    #expect(
      server.answer(discover(fixedOutside, requesting: ip(102)), at: t0)?.yourAddress == ip(50))
    #expect(server.answer(reboot(fixedOutside, ip(102)), at: t0)?.messageType == .nak)
    #expect(server.answer(reboot(fixedOutside, ip(50)), at: t0)?.messageType == .ack)
    #expect(server.answer(renew(fixedOutside, ip(50)), at: t0)?.messageType == .ack)
    let leases = server.leases(at: t0)
    #expect(leases.map(\.address) == [ip(50), ip(100)])
    #expect(leases.map(\.isFixed) == [true, true])
    #expect(leases.map(\.grantCount) == [3, 1])
  }

  @Test func aFixedClientIsAcknowledgedWithoutAnOffer() {
    var server = makeServer(fixed: [mac(0xF1): ip(50)])
    #expect(server.answer(select(mac(0xF1), ip(50)), at: t0)?.messageType == .ack)
    #expect(server.answer(select(mac(0xF1), ip(100)), at: t0)?.messageType == .nak)
  }

  @Test func excludedAddressesAreSkipped() {
    var server = makeServer(excluded: [ip(100), ip(101), ip(103)])
    #expect(server.lease(mac(1), at: t0) == ip(102))
    #expect(server.answer(discover(mac(2), requesting: ip(101)), at: t0)?.yourAddress == ip(104))
  }

  @Test func theServerAndTheSubnetsEndsAreNeverHandedOut() {
    var server = makeServer(first: 0, last: 3)
    // .0 is the network, .1 the server (and router).
    #expect(server.lease(mac(1), at: t0) == ip(2))
    #expect(server.lease(mac(2), at: t0) == ip(3))
    #expect(server.answer(discover(mac(3)), at: t0) == nil)
    var top = makeServer(first: 254, last: 255)
    #expect(top.lease(mac(1), at: t0) == ip(254))
    #expect(top.answer(discover(mac(2)), at: t0) == nil)
  }

  @Test func aRangeBeyondTheSubnetIsClipped() {
    var server = DHCPServer(
      configuration: DHCPServerConfiguration(
        serverAddress: serverAddress, subnet: IPv4CIDR("10.0.10.1/30")!,
        rangeStart: IPv4Address(10, 0, 0, 0), rangeEnd: IPv4Address(10, 255, 255, 255)))
    #expect(server.lease(mac(1), at: t0) == ip(2))
    #expect(server.answer(discover(mac(2)), at: t0) == nil)
    var empty = makeServer(first: 200, last: 100)
    #expect(empty.answer(discover(mac(1)), at: t0) == nil)
    #expect(empty.statistics.poolExhausted == 1)
  }

  // MARK: Exhaustion and the offer hold

  @Test func anExhaustedPoolIsCounted() {
    var server = makeServer(first: 100, last: 101)
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.lease(mac(2), at: t0) == ip(101))
    #expect(server.answer(discover(mac(3)), at: t0) == nil)
    #expect(server.answer(discover(mac(3)), at: t0 + .seconds(1)) == nil)
    #expect(
      server.statistics
        == DHCPServerStatistics(
          discovers: 4, offers: 2, requests: 2, acks: 2, poolExhausted: 2))
  }

  @Test func anOfferIsHeldForSixtySeconds() {
    var server = makeServer(first: 100, last: 101)
    #expect(server.answer(discover(mac(1)), at: t0)?.yourAddress == ip(100))
    #expect(server.answer(discover(mac(2)), at: t0)?.yourAddress == ip(101))
    #expect(server.answer(discover(mac(3)), at: t0 + .seconds(59)) == nil)
    // At 60 s both offers lapse; the newcomer takes the lowest.
    #expect(server.answer(discover(mac(3)), at: t0 + .seconds(60))?.yourAddress == ip(100))
    #expect(server.answer(select(mac(1), ip(100)), at: t0 + .seconds(61))?.messageType == .nak)
    // A late answer to a lapsed offer still succeeds while nobody took the address.
    #expect(server.answer(select(mac(2), ip(101)), at: t0 + .seconds(61))?.messageType == .ack)
    #expect(server.statistics.poolExhausted == 1)
  }

  @Test func choosingAnotherServerReleasesTheOffer() {
    var server = makeServer(first: 100, last: 100)
    #expect(server.answer(discover(mac(1)), at: t0)?.yourAddress == ip(100))
    #expect(server.answer(select(mac(1), ip(100), server: otherServer), at: t0) == nil)
    #expect(server.answer(discover(mac(2)), at: t0)?.yourAddress == ip(100))
    #expect(server.statistics.naks == 0)
    #expect(server.statistics.ignored == 0)
    // Another server's client leaves our leases alone.
    #expect(server.answer(select(mac(2), ip(100)), at: t0)?.messageType == .ack)
    #expect(server.answer(select(mac(2), ip(100), server: otherServer), at: t0) == nil)
    #expect(server.leases(at: t0).map(\.hardwareAddress) == [mac(2)])
  }

  // MARK: Release, decline, inform

  @Test func aReleaseEndsTheLeaseButRemembersTheAddress() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.answer(release(mac(1), ip(100)), at: t0 + .seconds(5)) == nil)
    #expect(server.leases(at: t0 + .seconds(5)).isEmpty)
    #expect(server.lease(mac(2), at: t0 + .seconds(5)) == ip(101))
    #expect(server.lease(mac(1), at: t0 + .seconds(6)) == ip(100))
    #expect(server.statistics.releases == 1)
  }

  @Test func aReleaseOfAnotherAddressIsIgnored() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.answer(release(mac(2), ip(100)), at: t0) == nil)
    #expect(server.answer(release(mac(1), ip(101)), at: t0) == nil)
    var foreign = release(mac(1), ip(100))
    foreign.serverIdentifier = otherServer
    #expect(server.answer(foreign, at: t0) == nil)
    #expect(server.leases(at: t0).map(\.address) == [ip(100)])
    #expect(server.statistics.releases == 3)
    #expect(server.statistics.ignored == 3)
  }

  @Test func aDeclinedAddressIsKeptFromEveryoneForALeaseTime() {
    var server = makeServer()
    #expect(server.lease(mac(1), at: t0) == ip(100))
    #expect(server.answer(decline(mac(1), ip(100)), at: t0) == nil)
    #expect(server.leases(at: t0).isEmpty)
    #expect(server.lease(mac(1), at: t0) == ip(101))
    #expect(server.answer(discover(mac(2), requesting: ip(100)), at: t0)?.yourAddress == ip(102))
    #expect(server.answer(reboot(mac(3), ip(100)), at: t0)?.messageType == .nak)
    let later = t0 + .seconds(hour)
    #expect(server.answer(discover(mac(4), requesting: ip(100)), at: later)?.yourAddress == ip(100))
    // Declining what is not yours does nothing.
    #expect(server.answer(decline(mac(5), ip(101)), at: later) == nil)
    #expect(server.answer(renew(mac(1), ip(101)), at: later)?.messageType == .ack)
    #expect(server.statistics.declines == 2)
    #expect(server.statistics.ignored == 1)
  }

  @Test func anInformIsAnsweredWithoutALease() {
    var server = makeServer()
    let inform = DHCPRequestFields(
      messageType: .inform, transactionID: 0x1F, clientAddress: ip(20),
      clientHardwareAddress: mac(1))
    #expect(
      server.answer(inform, at: t0)
        == DHCPReply(
          messageType: .ack, transactionID: 0x1F, flags: 0, clientAddress: ip(20),
          yourAddress: .any, clientHardwareAddress: mac(1), serverIdentifier: serverAddress,
          leaseSeconds: nil, subnetMask: IPv4Address(255, 255, 255, 0), router: serverAddress,
          domainNameServer: ip(53)))
    #expect(server.leases(at: t0).isEmpty)
    var withoutAddress = inform
    withoutAddress.clientAddress = .any
    #expect(server.answer(withoutAddress, at: t0) == nil)
    #expect(server.statistics == DHCPServerStatistics(acks: 1, informs: 2, ignored: 1))
  }

  // MARK: What is ignored

  @Test func onlyClientMessagesAreAnswered() {
    var server = makeServer()
    let reply = DHCPReply(
      messageType: .offer, transactionID: 1, flags: 0, clientAddress: .any,
      yourAddress: ip(100), clientHardwareAddress: mac(1), serverIdentifier: otherServer)
    #expect(server.answer(bytes: reply.emit(), at: t0) == nil)
    for type in [DHCPMessageType.offer, .ack, .nak] {
      let fields = DHCPRequestFields(
        messageType: type, transactionID: 1, clientHardwareAddress: mac(1))
      #expect(server.answer(fields, at: t0) == nil)
    }
    #expect(server.answer(discover(.broadcast), at: t0) == nil)
    #expect(server.answer(discover(.zero), at: t0) == nil)
    #expect(server.statistics == DHCPServerStatistics(ignored: 6))
  }

  // MARK: Lease time

  @Test func theLeaseIsAnnouncedInWholeSeconds() {
    var short = makeServer(lease: .milliseconds(500))
    #expect(short.answer(discover(mac(1)), at: t0)?.leaseSeconds == 1)
    #expect(short.answer(select(mac(1), ip(100)), at: t0)?.leaseSeconds == 1)
    #expect(short.leases(at: t0).first?.expiry == t0 + .seconds(1))
    var odd = makeServer(lease: .seconds(90) + .milliseconds(999))
    #expect(odd.answer(discover(mac(1)), at: t0)?.leaseSeconds == 90)
    #expect(odd.answer(select(mac(1), ip(100)), at: t0)?.messageType == .ack)
    #expect(odd.leases(at: t0).first?.expiry == t0 + .seconds(90))
    var long = makeServer(lease: .seconds(Int64(UInt32.max) + 10))
    #expect(long.answer(discover(mac(1)), at: t0)?.leaseSeconds == .max)
  }

  @Test func theHostNameIsKeptAcrossRenewals() {
    var server = makeServer()
    #expect(server.answer(discover(mac(1)), at: t0) != nil)
    #expect(server.answer(select(mac(1), ip(100), hostName: "db"), at: t0) != nil)
    #expect(server.answer(renew(mac(1), ip(100)), at: t0 + .seconds(10)) != nil)
    #expect(server.leases(at: t0 + .seconds(10)).first?.hostName == "db")
  }
}
