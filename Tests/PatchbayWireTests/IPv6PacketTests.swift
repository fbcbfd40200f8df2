import PatchbayWire
import Testing

struct IPv6PacketTests {
  private let dnsHeader = IPv6Header(
    flowLabel: 0x12345, nextHeader: .udp, hopLimit: 64,
    source: IPv6Address(0x2001, 0xDB8, 0, 0, 0, 0, 0, 0x11),
    destination: IPv6Address(0x2001, 0xDB8, 0, 0, 0, 0, 0, 0x53))

  @Test func readsEveryField() throws {
    let frame: [UInt8] =
      [0x33, 0x33, 0x00, 0x00, 0x00, 0x53, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x86, 0xdd]
      + Sample.udpDNSPacketIPv6
    try frame.withUnsafeBytes { bytes in
      let ethernet = try EthernetFrame(validating: bytes)
      #expect(ethernet.payloadType == .ipv6)
      let packet = try IPv6Packet(validating: ethernet.payload)
      #expect(packet.version == 6)
      #expect(packet.trafficClass == 0)
      #expect(packet.flowLabel == 0x12345)
      #expect(packet.payloadLength == 37)
      #expect(packet.nextHeader == .udp)
      #expect(packet.hopLimit == 64)
      #expect(packet.source == IPv6Address("2001:db8::11"))
      #expect(packet.destination == IPv6Address("2001:db8::53"))
      #expect(Array(packet.payload) == Sample.udpDNSDatagramIPv6)
      #expect(
        packet.pseudoHeader
          == .ipv6(source: IPv6Address("2001:db8::11")!, destination: IPv6Address("2001:db8::53")!))
      #expect(IPv6Header(packet) == dnsHeader)
    }
  }

  @Test func splitsTrafficClassAndFlowLabel() throws {
    var bytes = Sample.tcpDataPacketIPv6
    bytes[0...3] = [0x6B, 0x8A, 0xBC, 0xDE]  // traffic class 0xb8 (EF), flow label 0xabcde
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv6Packet(validating: raw)
      #expect(packet.version == 6)
      #expect(packet.trafficClass == 0xB8)
      #expect(packet.flowLabel == 0xABCDE)
      let value = IPv6Header(packet)
      #expect(value.emit(payload: packet.payload) == bytes)
    }
  }

  @Test func payloadStopsAtThePayloadLength() throws {
    let padded = Sample.tcpDataPacketIPv6 + [0xAA, 0xBB]
    try padded.withUnsafeBytes { raw in
      let packet = try IPv6Packet(validating: raw)
      #expect(packet.payload.count == 26)
      #expect(Array(packet.payload) == Sample.tcpDataSegmentIPv6)
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<IPv6Packet.headerLength {
      let error = rejection(Array(Sample.udpDNSPacketIPv6.prefix(length))) {
        _ = try IPv6Packet(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test(arguments: [0x40, 0x00, 0x70, 0xF0] as [UInt8])
  func rejectsVersionsOtherThan6(first: UInt8) {
    var bytes = Sample.udpDNSPacketIPv6
    bytes[0] = first
    #expect(rejection(bytes) { _ = try IPv6Packet(validating: $0) } == .malformed)
  }

  @Test func rejectsAPayloadLengthPastTheBuffer() {
    var bytes = Sample.udpDNSPacketIPv6
    bytes[5] = 38
    #expect(rejection(bytes) { _ = try IPv6Packet(validating: $0) } == .badLength)
    bytes[4] = 0xFF
    bytes[5] = 0xFF
    #expect(rejection(bytes) { _ = try IPv6Packet(validating: $0) } == .badLength)
    // The header cut right after its 40 bytes, with a payload still declared.
    #expect(
      rejection(Array(Sample.udpDNSPacketIPv6[..<40])) { _ = try IPv6Packet(validating: $0) }
        == .badLength)
  }

  @Test func emitsTheExactBytes() {
    #expect(dnsHeader.emit(payload: Sample.udpDNSDatagramIPv6) == Sample.udpDNSPacketIPv6)
    let tcp = IPv6Header(
      nextHeader: .tcp, source: IPv6Address("2001:db8::11")!,
      destination: IPv6Address("2001:db8::53")!)
    #expect(tcp.emit(payload: Sample.tcpDataSegmentIPv6) == Sample.tcpDataPacketIPv6)
  }

  @Test func emitMasksTheFlowLabelAndChecksRoom() {
    var value = dnsHeader
    value.flowLabel = 0xFFF0_0001
    #expect(Array(value.emit()[0..<4]) == [0x60, 0x00, 0x00, 0x01])
    var short = [UInt8](repeating: 0, count: 39)
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { try dnsHeader.emit(into: $0, payloadLength: 0) }
    }
    var room = [UInt8](repeating: 0, count: 40)
    #expect(throws: WireError.badLength) {
      try room.withUnsafeMutableBytes { try dnsHeader.emit(into: $0, payloadLength: 65_536) }
    }
  }

  @Test func unknownNextHeadersSurviveARoundTrip() throws {
    var bytes = Sample.udpDNSPacketIPv6
    bytes[6] = 44  // fragment header
    try bytes.withUnsafeBytes { raw in
      let packet = try IPv6Packet(validating: raw)
      #expect(packet.nextHeader.rawValue == 44)
      #expect(IPv6Header(packet).emit(payload: packet.payload) == bytes)
    }
  }
}
