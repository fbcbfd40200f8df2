import PatchbayWire
import Testing

struct ARPPacketTests {
  private let requestValue = ARPMessage(
    operation: .request,
    senderHardwareAddress: MACAddress(0x00, 0x07, 0x0D, 0xAF, 0xF4, 0x54),
    senderProtocolAddress: IPv4Address(24, 166, 172, 1),
    targetHardwareAddress: .zero,
    targetProtocolAddress: IPv4Address(24, 166, 173, 159))

  @Test func readsARequestFromAPaddedFrame() throws {
    try Sample.arpRequestFrame.withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.payloadType == .arp)
      #expect(frame.payload.count == 46)  // 28 bytes of ARP and 18 of padding
      let packet = try ARPPacket(validating: frame.payload)
      #expect(packet.operation == .request)
      #expect(packet.senderHardwareAddress == MACAddress("00:07:0d:af:f4:54"))
      #expect(packet.senderProtocolAddress == IPv4Address("24.166.172.1"))
      #expect(packet.targetHardwareAddress == .zero)
      #expect(packet.targetProtocolAddress == IPv4Address("24.166.173.159"))
      #expect(ARPMessage(packet) == requestValue)
    }
  }

  @Test func readsAReply() throws {
    try Sample.arpReply.withUnsafeBytes { bytes in
      let packet = try ARPPacket(validating: bytes)
      #expect(packet.operation == .reply)
      #expect(packet.senderHardwareAddress == MACAddress("00:1a:2b:3c:4d:5e"))
      #expect(packet.senderProtocolAddress == IPv4Address("24.166.173.159"))
      #expect(packet.targetHardwareAddress == MACAddress("00:07:0d:af:f4:54"))
      #expect(packet.targetProtocolAddress == IPv4Address("24.166.172.1"))
    }
  }

  @Test func emitsTheExactBytes() throws {
    #expect(requestValue.emit() == Sample.arpRequest)
    let reply = try Sample.arpReply.withUnsafeBytes { ARPMessage(try ARPPacket(validating: $0)) }
    #expect(reply.emit() == Sample.arpReply)
    // The request answered: swap the parties, fill in the found address.
    let answer = ARPMessage(
      operation: .reply,
      senderHardwareAddress: MACAddress(0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E),
      senderProtocolAddress: requestValue.targetProtocolAddress,
      targetHardwareAddress: requestValue.senderHardwareAddress,
      targetProtocolAddress: requestValue.senderProtocolAddress)
    #expect(answer == reply)
  }

  @Test func emitIntoWritesOnlyTheFirst28Bytes() throws {
    var buffer = [UInt8](repeating: 0xEE, count: 30)
    try buffer.withUnsafeMutableBytes { try requestValue.emit(into: $0) }
    #expect(Array(buffer[..<28]) == Sample.arpRequest)
    #expect(buffer[28...] == [0xEE, 0xEE])
  }

  @Test func emitIntoRefusesAShortBuffer() {
    var buffer = [UInt8](repeating: 0, count: 27)
    #expect(throws: WireError.truncated) {
      try buffer.withUnsafeMutableBytes { try requestValue.emit(into: $0) }
    }
  }

  @Test func unknownOperationsSurviveARoundTrip() throws {
    var bytes = Sample.arpRequest
    bytes[7] = 0x09
    let value = try bytes.withUnsafeBytes { ARPMessage(try ARPPacket(validating: $0)) }
    #expect(value.operation == ARPOperation(rawValue: 9))
    #expect(value.operation.description == "9")
    #expect(value.emit() == bytes)
  }

  @Test func rejectsEveryLengthBelow28() {
    for length in 0..<ARPPacket.byteCount {
      let error = rejection(Array(Sample.arpRequest.prefix(length))) {
        _ = try ARPPacket(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test(arguments: [
    (0, UInt8(0x06)),  // hardware type 6 (IEEE 802)
    (1, 0x00),  // hardware type 0
    (2, 0x86),  // protocol type 0x8600
    (3, 0xdd),  // protocol type 0x08dd
    (4, 0x08),  // hardware length 8
    (5, 0x10),  // protocol length 16
  ])
  func rejectsAnythingButEthernetAndIPv4(offset: Int, value: UInt8) {
    var bytes = Sample.arpRequest
    bytes[offset] = value
    #expect(rejection(bytes) { _ = try ARPPacket(validating: $0) } == .malformed)
  }

  @Test func describesOperations() {
    #expect(ARPOperation.request.description == "request")
    #expect(ARPOperation.reply.description == "reply")
    #expect(ARPOperation(rawValue: 1) == .request)
  }
}
