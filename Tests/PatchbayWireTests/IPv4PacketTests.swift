import PatchbayWire
import Testing

struct IPv4PacketTests {
  private let echoHeader = IPv4Header(
    identification: 0x3E4F, dontFragment: true, timeToLive: 64, protocol: .icmp,
    source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12))

  @Test func readsEveryFieldOfAnEchoRequest() throws {
    let frame = Sample.ethernetIPv4Header + Sample.icmpEchoPacket
    try frame.withUnsafeBytes { bytes in
      let ethernet = try EthernetFrame(validating: bytes)
      #expect(ethernet.payloadType == .ipv4)
      let packet = try IPv4Packet(validating: ethernet.payload)
      #expect(packet.version == 4)
      #expect(packet.headerLength == 20)
      #expect(packet.dscp == 0)
      #expect(packet.ecn == 0)
      #expect(packet.totalLength == 84)
      #expect(packet.identification == 0x3E4F)
      #expect(packet.dontFragment)
      #expect(!packet.moreFragments)
      #expect(packet.fragmentOffset == 0)
      #expect(!packet.isFragment)
      #expect(packet.timeToLive == 64)
      #expect(packet.protocol == .icmp)
      #expect(packet.headerChecksum == 0xD443)
      #expect(packet.isHeaderChecksumValid)
      #expect(packet.source == IPv4Address("10.0.10.11"))
      #expect(packet.destination == IPv4Address("10.0.10.12"))
      #expect(packet.options.isEmpty)
      #expect(Array(packet.header) == Array(Sample.icmpEchoPacket[..<20]))
      #expect(Array(packet.payload) == Sample.icmpEchoMessage)
      #expect(
        packet.pseudoHeader
          == .ipv4(source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12)))
      #expect(IPv4Header(packet) == echoHeader)
    }
  }

  @Test func readsOptionsAndDSCP() throws {
    try Sample.igmpRouterAlertPacket.withUnsafeBytes { bytes in
      let packet = try IPv4Packet(validating: bytes)
      #expect(packet.headerLength == 24)
      #expect(packet.dscp == 48)
      #expect(packet.ecn == 0)
      #expect(packet.timeToLive == 1)
      #expect(packet.protocol == IPProtocol(rawValue: 2))
      #expect(packet.destination == IPv4Address(239, 1, 2, 3))
      #expect(Array(packet.options) == [0x94, 0x04, 0x00, 0x00])
      #expect(Array(packet.payload) == [0x16, 0x00, 0xF8, 0xFA, 0xEF, 0x01, 0x02, 0x03])
      #expect(packet.isHeaderChecksumValid)
    }
  }

  @Test func payloadStopsAtTheTotalLengthWhenTheBufferIsPadded() throws {
    // 57 bytes of UDP/IPv4 in a minimum-size Ethernet frame: 3 bytes of padding.
    let padded = Sample.udpDNSPacket + [0, 0, 0]
    try padded.withUnsafeBytes { bytes in
      let packet = try IPv4Packet(validating: bytes)
      #expect(packet.totalLength == 57)
      #expect(packet.payload.count == 37)
      #expect(Array(packet.payload) == Sample.udpDNSDatagram)
      #expect(!packet.dontFragment)
    }
  }

  @Test func detectsACorruptHeaderChecksum() {
    for index in 0..<20 {
      // Padding keeps a flipped total length inside the buffer.
      var bytes = Sample.icmpEchoPacket + [UInt8](repeating: 0, count: 300)
      bytes[index] ^= 0x01
      bytes.withUnsafeBytes { raw in
        // Flipping the low bit of byte 0 makes version 4 / IHL 4, which the view refuses.
        guard let packet = try? IPv4Packet(validating: raw) else {
          #expect(index == 0)
          return
        }
        #expect(!packet.isHeaderChecksumValid, "byte \(index)")
      }
    }
  }

  @Test func readsFragmentFields() throws {
    var bytes = Sample.udpDNSPacket
    bytes[6] = 0x20  // MF, offset 185 (1480 bytes)
    bytes[7] = 0xB9
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv4Packet(validating: raw)
      #expect(packet.moreFragments)
      #expect(!packet.dontFragment)
      #expect(packet.fragmentOffset == 185)
      #expect(packet.isFragment)
    }
    bytes[6] = 0x00  // last fragment: offset only
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv4Packet(validating: raw)
      #expect(!packet.moreFragments)
      #expect(packet.isFragment)
    }
    bytes[6] = 0x80  // reserved bit only: not a fragment
    bytes[7] = 0x00
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv4Packet(validating: raw)
      #expect(!packet.isFragment)
      #expect(!packet.dontFragment)
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<IPv4Packet.minimumHeaderLength {
      let error = rejection(Array(Sample.icmpEchoPacket.prefix(length))) {
        _ = try IPv4Packet(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test(arguments: [0x05, 0x35, 0x65, 0xF5] as [UInt8])
  func rejectsVersionsOtherThan4(first: UInt8) {
    var bytes = Sample.icmpEchoPacket
    bytes[0] = first
    #expect(rejection(bytes) { _ = try IPv4Packet(validating: $0) } == .malformed)
  }

  @Test func rejectsAHeaderLengthBelow20() {
    for ihl: UInt8 in 0..<5 {
      var bytes = Sample.icmpEchoPacket
      bytes[0] = 0x40 | ihl
      #expect(rejection(bytes) { _ = try IPv4Packet(validating: $0) } == .badLength, "IHL \(ihl)")
    }
  }

  @Test func rejectsAHeaderLengthPastTheBuffer() {
    // IHL 15 is 60 bytes: more than the 28 there are, and more than the total length.
    var bytes = Array(Sample.udpDNSPacket[..<28])
    bytes[0] = 0x4F
    bytes[3] = 28
    #expect(rejection(bytes) { _ = try IPv4Packet(validating: $0) } == .badLength)
  }

  @Test func rejectsATotalLengthBelowTheHeaderOrPastTheBuffer() {
    for total: UInt16 in [0, 19, 23, 85, 0xFFFF] {
      var bytes = Sample.igmpRouterAlertPacket + [UInt8](repeating: 0, count: 52)  // 84 bytes
      bytes[2] = UInt8(total >> 8)
      bytes[3] = UInt8(total & 0xFF)
      #expect(rejection(bytes) { _ = try IPv4Packet(validating: $0) } == .badLength, "\(total)")
    }
    // The boundaries themselves are accepted: a bare 24-byte header and a full 84-byte buffer.
    for total: UInt16 in [24, 84] {
      var bytes = Sample.igmpRouterAlertPacket + [UInt8](repeating: 0, count: 52)
      bytes[3] = UInt8(total)
      #expect(rejection(bytes) { _ = try IPv4Packet(validating: $0) } == nil, "\(total)")
    }
  }

  @Test func wikipediaHeaderAloneIsShorterThanItsTotalLength() {
    #expect(
      rejection(Sample.wikipediaIPv4Header) { _ = try IPv4Packet(validating: $0) } == .badLength)
  }

  @Test func emitsTheExactBytes() {
    #expect(echoHeader.emit(payload: Sample.icmpEchoMessage) == Sample.icmpEchoPacket)
    let tcp = IPv4Header(
      identification: 0x8D2C, protocol: .tcp,
      source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12))
    #expect(tcp.emit(payload: Sample.tcpSynSegment) == Sample.tcpSynPacket)
    let udp = IPv4Header(
      identification: 0x1234, dontFragment: false, protocol: .udp,
      source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 1))
    #expect(udp.emit(payload: Sample.udpDNSDatagram) == Sample.udpDNSPacket)
  }

  @Test func valuesRoundTripThroughTheWire() throws {
    let value = IPv4Header(
      dscp: 46, ecn: 2, identification: 0xBEEF, dontFragment: false, moreFragments: true,
      fragmentOffset: 0x1ABC, timeToLive: 3, protocol: IPProtocol(rawValue: 132),
      source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(198, 51, 100, 2))
    let bytes = value.emit(payload: [1, 2, 3, 4, 5, 6, 7, 8])
    #expect(bytes[1] == 0xBA)  // 46 << 2 | 2
    #expect(bytes[6] == 0x3A && bytes[7] == 0xBC)  // MF | 0x1abc
    #expect(bytes[9] == 132)
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv4Packet(validating: raw)
      #expect(packet.isHeaderChecksumValid)
      #expect(IPv4Header(packet) == value)
      #expect(packet.protocol.rawValue == 132)
    }
  }

  @Test func emitMasksOutOfRangeFields() {
    let value = IPv4Header(
      dscp: 0xFF, ecn: 0xFF, fragmentOffset: 0xFFFF, protocol: .udp,
      source: .any, destination: .broadcast)
    let bytes = value.emit()
    #expect(bytes[1] == 0xFF)
    #expect(bytes[6] == 0x5F && bytes[7] == 0xFF)  // DF | 0x1fff: MF is not set by the mask
    #expect(bytes[2] == 0 && bytes[3] == 20)
  }

  @Test func emitIntoChecksRoomAndLength() {
    var short = [UInt8](repeating: 0, count: 19)
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { try echoHeader.emit(into: $0, payloadLength: 0) }
    }
    var room = [UInt8](repeating: 0, count: 20)
    #expect(throws: WireError.badLength) {
      try room.withUnsafeMutableBytes { try echoHeader.emit(into: $0, payloadLength: 65_516) }
    }
    #expect(throws: WireError.badLength) {
      try room.withUnsafeMutableBytes { try echoHeader.emit(into: $0, payloadLength: -1) }
    }
    #expect(throws: Never.self) {
      try room.withUnsafeMutableBytes { try echoHeader.emit(into: $0, payloadLength: 65_515) }
    }
    #expect(room[2] == 0xFF && room[3] == 0xFF)
  }

  @Test func mutableViewRewritesAndRecomputesTheChecksum() throws {
    var bytes = Sample.icmpEchoPacket
    try bytes.withUnsafeMutableBytes { raw in
      let packet = try MutableIPv4Packet(validating: raw)
      packet.setSource(IPv4Address(192, 0, 2, 7))
      packet.setDestination(IPv4Address(198, 51, 100, 9))
      packet.setTimeToLive(63)
      #expect(!packet.packet.isHeaderChecksumValid)
      packet.updateHeaderChecksum()
      #expect(packet.packet.isHeaderChecksumValid)
    }
    var expected = echoHeader
    expected.source = IPv4Address(192, 0, 2, 7)
    expected.destination = IPv4Address(198, 51, 100, 9)
    expected.timeToLive = 63
    #expect(bytes == expected.emit(payload: Sample.icmpEchoMessage))
  }

  @Test func mutableViewSetsAnIncrementallyUpdatedChecksum() throws {
    var bytes = Sample.icmpEchoPacket
    try bytes.withUnsafeMutableBytes { raw in
      let packet = try MutableIPv4Packet(validating: raw)
      let old = packet.packet.source
      let new = IPv4Address(100, 64, 0, 1)
      packet.setSource(new)
      packet.setHeaderChecksum(
        InternetChecksum.update(packet.packet.headerChecksum, old: old.rawValue, new: new.rawValue))
      #expect(packet.packet.isHeaderChecksumValid)
    }
    #expect(bytes[10] == 0x84 && bytes[11] == 0x0D)  // recomputed in full by a Python script
  }

  @Test func mutableViewChecksLikeTheReadOnlyOne() {
    var bytes = Sample.icmpEchoPacket
    bytes[0] = 0x44
    #expect(throws: WireError.badLength) {
      try bytes.withUnsafeMutableBytes { _ = try MutableIPv4Packet(validating: $0) }
    }
    var short = Array(Sample.icmpEchoPacket[..<19])
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { _ = try MutableIPv4Packet(validating: $0) }
    }
  }
}
