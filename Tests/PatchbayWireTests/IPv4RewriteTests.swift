import Testing

@testable import PatchbayWire

/// Rewriting addresses, ports and TTL in place keeps every checksum equal to
/// one summed again from scratch; partial (offload) and absent checksums are
/// kept as what they are; quotes are edited only within what they hold.
@Suite struct IPv4RewriteTests {
  static let inside = IPv4Address(10, 0, 0, 5)
  static let remote = IPv4Address(198, 51, 100, 9)
  static let outside = IPv4Address(192, 0, 2, 10)

  /// An IPv4 packet carrying `transport` (its checksum complete) from inside to remote.
  func packet(
    _ protocol: IPProtocol, source: IPv4Address = inside, transport: [UInt8], ttl: UInt8 = 64
  ) -> [UInt8] {
    IPv4Header(
      identification: 0x1234, timeToLive: ttl, protocol: `protocol`, source: source,
      destination: Self.remote
    ).emit(payload: transport)
  }

  /// True when the IPv4 header at the start of `bytes` sums to its checksum.
  func headerIsValid(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes {
      InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[..<20])) == 0
    }
  }

  func tcp(from source: IPv4Address, to destination: IPv4Address, ports: (UInt16, UInt16))
    -> [UInt8]
  {
    TCPHeader(
      sourcePort: ports.0, destinationPort: ports.1, sequenceNumber: 7, flags: [.syn],
      window: 512
    ).emit(payload: [1, 2, 3, 4, 5], pseudoHeader: .ipv4(source: source, destination: destination))
  }

  func udp(from source: IPv4Address, to destination: IPv4Address, ports: (UInt16, UInt16))
    -> [UInt8]
  {
    UDPHeader(sourcePort: ports.0, destinationPort: ports.1).emit(
      payload: [9, 8, 7], pseudoHeader: .ipv4(source: source, destination: destination))
  }

  /// Runs `body` on the views of `bytes`, then returns the bytes.
  func rewrite(
    _ bytes: [UInt8], partial: Bool = false,
    _ body: (MutableIPv4Packet, MutableTransportHeader) -> Void
  ) throws -> [UInt8] {
    var bytes = bytes
    try bytes.withUnsafeMutableBytes { raw in
      let packet = try MutableIPv4Packet(validating: raw)
      let transport = try #require(
        MutableTransportHeader(
          packet.transportBytes, protocol: packet.protocol, partialChecksum: partial))
      body(packet, transport)
    }
    return bytes
  }

  @Test func aTCPRewriteEqualsTheSegmentBuiltForTheNewAddresses() throws {
    let original = packet(
      .tcp, transport: tcp(from: Self.inside, to: Self.remote, ports: (5000, 80)))
    let rewritten = try rewrite(original) { packet, transport in
      #expect(packet.decrementTimeToLive())
      packet.rewriteSource(Self.outside, transport: transport)
      transport.setSourcePort(1024)
      transport.setDestinationPort(8080)
    }
    let expected = IPv4Header(
      identification: 0x1234, timeToLive: 63, protocol: .tcp, source: Self.outside,
      destination: Self.remote
    ).emit(payload: tcp(from: Self.outside, to: Self.remote, ports: (1024, 8080)))
    #expect(rewritten == expected)
  }

  @Test func aUDPRewriteOfTheDestinationEqualsTheDatagramBuiltForIt() throws {
    let original = packet(.udp, transport: udp(from: Self.inside, to: Self.remote, ports: (53, 53)))
    let rewritten = try rewrite(original) { packet, transport in
      packet.rewriteDestination(Self.outside, transport: transport)
      transport.setDestinationPort(5353)
    }
    let expected = IPv4Header(
      identification: 0x1234, protocol: .udp, source: Self.inside, destination: Self.outside
    ).emit(payload: udp(from: Self.inside, to: Self.outside, ports: (53, 5353)))
    #expect(rewritten == expected)
  }

  @Test func aUDPDatagramWithoutAChecksumKeepsNone() throws {
    var datagram = udp(from: Self.inside, to: Self.remote, ports: (53, 53))
    datagram[6] = 0
    datagram[7] = 0
    let rewritten = try rewrite(packet(.udp, transport: datagram)) { packet, transport in
      #expect(transport.checksum == .absent)
      packet.rewriteSource(Self.outside, transport: transport)
      transport.setSourcePort(40_000)
    }
    #expect(rewritten[26..<28] == [0, 0])
    #expect(rewritten[20..<22] == [0x9C, 0x40])
    #expect(headerIsValid(rewritten))
  }

  @Test func aPartialChecksumFollowsTheAddressesAndIgnoresThePorts() throws {
    // What a sender leaving the checksum to offload writes: the
    // uncomplemented pseudo-header sum, here for 25 bytes of TCP.
    func partialSum(_ source: IPv4Address, _ destination: IPv4Address) -> UInt16 {
      ~InternetChecksum.finish(
        InternetChecksum.pseudoHeaderSum(
          source: source, destination: destination, protocol: .tcp, length: 25))
    }
    var segment = tcp(from: Self.inside, to: Self.remote, ports: (5000, 80))
    let before = partialSum(Self.inside, Self.remote)
    segment[16] = UInt8(before >> 8)
    segment[17] = UInt8(before & 0xFF)
    let rewritten = try rewrite(packet(.tcp, transport: segment), partial: true) {
      packet, transport in
      #expect(transport.checksum == .partial)
      packet.rewriteSource(Self.outside, transport: transport)
      transport.setSourcePort(1024)
    }
    let after = partialSum(Self.outside, Self.remote)
    #expect(rewritten[36..<38] == [UInt8(after >> 8), UInt8(after & 0xFF)])
    #expect(rewritten[20..<22] == [0x04, 0x00])
  }

  @Test func anICMPEchoKeepsItsChecksumAndNeverWritesZero() throws {
    // A reply with identifier 0xffff, sequence 0 and no payload sums to 0xffff
    // (checksum 0); changing the identifier to 0 leaves a message of all zero
    // bytes, whose checksum must be written 0xffff, where RFC 1624's update gives 0.
    let echo = ICMPEchoMessage(kind: .reply, identifier: 0xFFFF, sequenceNumber: 0).emit()
    let rewritten = try rewrite(packet(.icmp, transport: echo)) { packet, transport in
      #expect(transport.kind == .icmp && transport.sourcePort == 0xFFFF)
      #expect(transport.destinationPort == 0)
      packet.rewriteSource(Self.outside, transport: transport)
      transport.setSourcePort(0)
      transport.setDestinationPort(99)
    }
    let expected = ICMPEchoMessage(kind: .reply, identifier: 0, sequenceNumber: 0).emit()
    #expect(expected[2..<4] == [0xFF, 0xFF])
    #expect(Array(rewritten[20...]) == expected)
    #expect(headerIsValid(rewritten))
  }

  @Test func theTTLStopsAtOne() throws {
    let original = packet(
      .udp, transport: udp(from: Self.inside, to: Self.remote, ports: (1, 2)), ttl: 1)
    let rewritten = try rewrite(original) { packet, _ in #expect(!packet.decrementTimeToLive()) }
    #expect(rewritten == original)
  }

  @Test func aHeaderCutShortIsNoView() throws {
    var bytes = packet(
      .tcp, transport: Array(tcp(from: Self.inside, to: Self.remote, ports: (1, 2))[..<19]))
    try bytes.withUnsafeMutableBytes { raw in
      let packet = try MutableIPv4Packet(validating: raw)
      #expect(
        MutableTransportHeader(packet.transportBytes, protocol: .tcp, partialChecksum: false) == nil
      )
      #expect(
        MutableTransportHeader(
          packet.transportBytes, protocol: IPProtocol(rawValue: 47), partialChecksum: false) == nil)
    }
  }

  @Test func aQuoteOfEightBytesIsEditedWithinThem() throws {
    // An ICMP error's quote: the header of a TCP packet and its first 8 bytes.
    let full = packet(
      .tcp, source: Self.outside,
      transport: tcp(from: Self.outside, to: Self.remote, ports: (1024, 80)))
    var quote = Array(full[..<28])
    try quote.withUnsafeMutableBytes { raw in
      let header = try QuotedIPv4Header(validating: raw)
      #expect(header.protocol == .tcp && header.source == Self.outside)
      let transport = try #require(
        MutableTransportHeader(quoted: header.transportBytes, protocol: .tcp))
      #expect(transport.checksum == .absent && transport.flags == [])
      header.rewriteSource(Self.inside, transport: transport)
      transport.setSourcePort(5000)
    }
    #expect(quote[12..<16] == [10, 0, 0, 5])
    #expect(quote[20..<22] == [0x13, 0x88])
    #expect(Array(quote[22..<28]) == Array(full[22..<28]))
    #expect(headerIsValid(quote))
  }

  @Test func aQuoteThatHoldsTheChecksumKeepsIt() throws {
    let full = packet(
      .tcp, source: Self.outside,
      transport: tcp(from: Self.outside, to: Self.remote, ports: (1024, 80)))
    var quote = full
    try quote.withUnsafeMutableBytes { raw in
      let header = try QuotedIPv4Header(validating: raw)
      let transport = try #require(
        MutableTransportHeader(quoted: header.transportBytes, protocol: .tcp))
      #expect(transport.checksum == .complete && transport.flags == [.syn])
      header.rewriteSource(Self.inside, transport: transport)
      transport.setSourcePort(5000)
    }
    #expect(
      quote == packet(.tcp, transport: tcp(from: Self.inside, to: Self.remote, ports: (5000, 80))))
  }

  @Test func aQuoteShorterThanItsHeaderAndEightBytesIsRefused() {
    var short = Array(
      packet(.udp, transport: udp(from: Self.inside, to: Self.remote, ports: (1, 2)))[..<27])
    #expect(throws: WireError.badLength) {
      try short.withUnsafeMutableBytes { _ = try QuotedIPv4Header(validating: $0) }
    }
    var notFour = Array(
      packet(.udp, transport: udp(from: Self.inside, to: Self.remote, ports: (1, 2))))
    notFour[0] = 0x65
    #expect(throws: WireError.malformed) {
      try notFour.withUnsafeMutableBytes { _ = try QuotedIPv4Header(validating: $0) }
    }
  }
}
