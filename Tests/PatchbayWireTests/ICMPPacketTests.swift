import PatchbayWire
import Testing

struct ICMPPacketTests {
  @Test func readsAnEchoRequestFromItsIPv4Packet() throws {
    try Sample.icmpEchoPacket.withUnsafeBytes { bytes in
      let ip = try IPv4Packet(validating: bytes)
      #expect(ip.protocol == .icmp)
      let icmp = try ICMPPacket(validating: ip.payload)
      #expect(icmp.type == .echoRequest)
      #expect(icmp.code == 0)
      #expect(icmp.checksum == 0xF93F)
      #expect(icmp.identifier == 0x1C2F)
      #expect(icmp.sequenceNumber == 1)
      #expect(icmp.restOfHeader == 0x1C2F_0001)
      #expect(Array(icmp.payload) == Sample.icmpEchoData)
      #expect(icmp.isChecksumValid)
      #expect(
        ICMPEchoMessage(icmp)
          == ICMPEchoMessage(kind: .request, identifier: 0x1C2F, sequenceNumber: 1))
    }
  }

  @Test func readsAnEchoReply() throws {
    try Sample.icmpEchoReplyMessage.withUnsafeBytes { bytes in
      let icmp = try ICMPPacket(validating: bytes)
      #expect(icmp.type == .echoReply)
      #expect(icmp.checksum == 0x0140)
      #expect(icmp.isChecksumValid)
      #expect(ICMPEchoMessage(icmp)?.kind == .reply)
    }
  }

  @Test func detectsEveryFlippedBit() throws {
    for index in 0..<Sample.icmpEchoMessage.count {
      for bit in 0..<8 {
        var bytes = Sample.icmpEchoMessage
        bytes[index] ^= 1 << bit
        let valid = try bytes.withUnsafeBytes { try ICMPPacket(validating: $0).isChecksumValid }
        #expect(!valid, "byte \(index) bit \(bit)")
      }
    }
  }

  @Test func emitsTheExactBytes() {
    let request = ICMPEchoMessage(kind: .request, identifier: 0x1C2F, sequenceNumber: 1)
    #expect(request.type == .echoRequest)
    #expect(request.emit(payload: Sample.icmpEchoData) == Sample.icmpEchoMessage)
    var reply = request
    reply.kind = .reply
    #expect(reply.type == .echoReply)
    #expect(reply.emit(payload: Sample.icmpEchoData) == Sample.icmpEchoReplyMessage)
  }

  @Test func emitsOddLengthPayloads() throws {
    let message = ICMPEchoMessage(kind: .request, identifier: 7, sequenceNumber: 0xFFFF)
    let bytes = message.emit(payload: [0xAB, 0xCD, 0xEF])
    // 0x0800 + 0x0007 + 0xffff + 0xabcd + 0xef00 with end-around carries is 0xa2d5: 0x5d2a.
    #expect(bytes == [0x08, 0x00, 0x5D, 0x2A, 0x00, 0x07, 0xFF, 0xFF, 0xAB, 0xCD, 0xEF])
    try bytes.withUnsafeBytes { raw in
      let packet = try ICMPPacket(validating: raw)
      #expect(packet.isChecksumValid)
      #expect(ICMPEchoMessage(packet) == message)
    }
  }

  @Test func emitIntoChecksRoom() {
    var short = [UInt8](repeating: 0, count: 7)
    let message = ICMPEchoMessage(kind: .reply, identifier: 1, sequenceNumber: 2)
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { try message.emit(into: $0) }
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<ICMPPacket.headerLength {
      let error = rejection(Array(Sample.icmpEchoMessage.prefix(length))) {
        _ = try ICMPPacket(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
    #expect(
      rejection(Array(Sample.icmpEchoMessage.prefix(8))) { _ = try ICMPPacket(validating: $0) }
        == nil)
  }

  @Test func onlyEchoWithCodeZeroParsesAsAnEchoValue() throws {
    var bytes = Sample.icmpEchoMessage
    bytes[1] = 1
    #expect(try bytes.withUnsafeBytes { ICMPEchoMessage(try ICMPPacket(validating: $0)) } == nil)
    // Destination unreachable, port unreachable: a different message altogether.
    let unreachable: [UInt8] = [0x03, 0x03, 0xFC, 0xFC, 0x00, 0x00, 0x00, 0x00]
    try unreachable.withUnsafeBytes { raw in
      let packet = try ICMPPacket(validating: raw)
      #expect(packet.type == .destinationUnreachable)
      #expect(packet.code == 3)
      #expect(packet.restOfHeader == 0)
      #expect(packet.payload.isEmpty)
      #expect(packet.isChecksumValid)
      #expect(ICMPEchoMessage(packet) == nil)
    }
  }

  @Test func unknownTypesSurvive() throws {
    var bytes = Sample.icmpEchoMessage
    bytes[0] = 42
    try bytes.withUnsafeBytes { raw in
      let packet = try ICMPPacket(validating: raw)
      #expect(packet.type == ICMPType(rawValue: 42))
      #expect(packet.type.description == "42")
    }
    #expect(ICMPType.echoRequest.description == "8 (echo request)")
    #expect(ICMPType.timeExceeded.description == "11 (time exceeded)")
  }
}
