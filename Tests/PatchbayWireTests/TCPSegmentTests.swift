import PatchbayWire
import Testing

struct TCPSegmentTests {
  private let v4 = IPPseudoHeader.ipv4(
    source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12))
  private let v6 = IPPseudoHeader.ipv6(
    source: IPv6Address("2001:db8::11")!, destination: IPv6Address("2001:db8::53")!)
  private let synHeader = TCPHeader(
    sourcePort: 54321, destinationPort: 80, sequenceNumber: 0x1E8C_4B2A, flags: .syn,
    window: 64240, options: Sample.tcpSynOptions)
  private let dataHeader = TCPHeader(
    sourcePort: 40000, destinationPort: 8080, sequenceNumber: 0x0102_0304,
    acknowledgmentNumber: 0xA0B0_C0D0, flags: [.psh, .ack], window: 502)

  @Test func readsEveryFieldOfASYN() throws {
    try Sample.tcpSynPacket.withUnsafeBytes { bytes in
      let ip = try IPv4Packet(validating: bytes)
      #expect(ip.protocol == .tcp)
      let tcp = try TCPSegment(validating: ip.payload)
      #expect(tcp.sourcePort == 54321)
      #expect(tcp.destinationPort == 80)
      #expect(tcp.sequenceNumber == 0x1E8C_4B2A)
      #expect(tcp.acknowledgmentNumber == 0)
      #expect(tcp.headerLength == 40)
      #expect(tcp.flags == .syn)
      #expect(tcp.window == 64240)
      #expect(tcp.checksum == 0xB068)
      #expect(tcp.urgentPointer == 0)
      #expect(Array(tcp.options) == Sample.tcpSynOptions)
      #expect(tcp.payload.isEmpty)
      #expect(tcp.isChecksumValid(ip.pseudoHeader))
      #expect(TCPHeader(tcp) == synHeader)
    }
  }

  @Test func readsASegmentWithDataOverIPv6() throws {
    try Sample.tcpDataPacketIPv6.withUnsafeBytes { bytes in
      let ip = try IPv6Packet(validating: bytes)
      let tcp = try TCPSegment(validating: ip.payload)
      #expect(tcp.headerLength == 20)
      #expect(tcp.flags == [.psh, .ack])
      #expect(tcp.flags.contains(.ack) && !tcp.flags.contains(.syn))
      #expect(tcp.acknowledgmentNumber == 0xA0B0_C0D0)
      #expect(tcp.options.isEmpty)
      #expect(Array(tcp.payload) == Array("hello\n".utf8))
      #expect(tcp.isChecksumValid(ip.pseudoHeader))
      #expect(!tcp.isChecksumValid(v4))
      #expect(TCPHeader(tcp) == dataHeader)
    }
  }

  @Test func checksumCoversEveryByte() throws {
    for index in 0..<Sample.tcpDataSegmentIPv6.count where !(16...17).contains(index) {
      var bytes = Sample.tcpDataSegmentIPv6
      bytes[index] ^= 0x04
      try bytes.withUnsafeBytes { raw in
        let segment = try TCPSegment(validating: raw)
        #expect(!segment.isChecksumValid(v6), "byte \(index)")
      }
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<TCPSegment.minimumHeaderLength {
      let error = rejection(Array(Sample.tcpSynSegment.prefix(length))) {
        _ = try TCPSegment(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test func rejectsADataOffsetBelow5() {
    for offset: UInt8 in 0..<5 {
      var bytes = Sample.tcpSynSegment
      bytes[12] = offset << 4
      #expect(rejection(bytes) { _ = try TCPSegment(validating: $0) } == .badLength, "\(offset)")
    }
  }

  @Test func rejectsADataOffsetPastTheBuffer() {
    var bytes = Sample.tcpSynSegment
    bytes[12] = 0xB0  // 44 bytes of header in a 40-byte segment
    #expect(rejection(bytes) { _ = try TCPSegment(validating: $0) } == .badLength)
    // The SYN cut inside its options.
    for length in 20..<40 {
      let cut = Array(Sample.tcpSynSegment.prefix(length))
      #expect(rejection(cut) { _ = try TCPSegment(validating: $0) } == .badLength, "\(length)")
    }
  }

  @Test func emitsTheExactBytes() {
    #expect(synHeader.byteCount == 40)
    #expect(synHeader.emit(pseudoHeader: v4) == Sample.tcpSynSegment)
    #expect(
      dataHeader.emit(payload: Array("hello\n".utf8), pseudoHeader: v6) == Sample.tcpDataSegmentIPv6
    )
  }

  @Test func emitPadsOptionsToAWord() throws {
    var header = dataHeader
    header.options = [0x01, 0x01, 0x01, 0x01, 0x03, 0x03, 0x07]  // NOPs, window scale 7
    #expect(header.byteCount == 28)
    let bytes = header.emit(payload: [0x42], pseudoHeader: v4)
    #expect(bytes.count == 29)
    #expect(bytes[12] == 0x70)
    #expect(Array(bytes[20..<28]) == [0x01, 0x01, 0x01, 0x01, 0x03, 0x03, 0x07, 0x00])
    try bytes.withUnsafeBytes { raw in
      let segment = try TCPSegment(validating: raw)
      #expect(segment.isChecksumValid(v4))
      #expect(Array(segment.payload) == [0x42])
    }
  }

  @Test func emitIntoChecksOptionsAndRoom() {
    var header = dataHeader
    header.options = [UInt8](repeating: 1, count: 41)
    var room = [UInt8](repeating: 0, count: 100)
    #expect(throws: WireError.badLength) {
      try room.withUnsafeMutableBytes { try header.emit(into: $0, pseudoHeader: v4) }
    }
    header.options = [UInt8](repeating: 1, count: 40)
    #expect(throws: Never.self) {
      try room.withUnsafeMutableBytes { try header.emit(into: $0, pseudoHeader: v4) }
    }
    #expect(room[12] == 0xF0)
    var short = [UInt8](repeating: 0, count: 59)
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { try header.emit(into: $0, pseudoHeader: v4) }
    }
  }

  @Test func flagsMapToTheirWireBits() {
    let all: [(TCPFlags, UInt8)] = [
      (.fin, 0x01), (.syn, 0x02), (.rst, 0x04), (.psh, 0x08),
      (.ack, 0x10), (.urg, 0x20), (.ece, 0x40), (.cwr, 0x80),
    ]
    for (flag, bit) in all { #expect(flag.rawValue == bit) }
    #expect(TCPFlags([.syn, .ack]).description == "SYN,ACK")
    #expect(TCPFlags(rawValue: 0xFF).description == "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR")
    #expect(TCPFlags().description == "")
  }

  @Test func everyFlagRoundTrips() throws {
    for raw in UInt8.min...UInt8.max {
      var header = dataHeader
      header.flags = TCPFlags(rawValue: raw)
      let bytes = header.emit(pseudoHeader: v6)
      #expect(bytes[13] == raw)
      try bytes.withUnsafeBytes { buffer in
        let segment = try TCPSegment(validating: buffer)
        #expect(TCPHeader(segment) == header)
      }
    }
  }
}
