import PatchbayWire
import Testing

struct UDPDatagramTests {
  private let v4 = IPPseudoHeader.ipv4(
    source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 1))
  private let v6 = IPPseudoHeader.ipv6(
    source: IPv6Address("2001:db8::11")!, destination: IPv6Address("2001:db8::53")!)
  private let dnsHeader = UDPHeader(sourcePort: 53000, destinationPort: 53)

  @Test func readsADNSQueryOverIPv4() throws {
    try Sample.udpDNSPacket.withUnsafeBytes { bytes in
      let ip = try IPv4Packet(validating: bytes)
      #expect(ip.protocol == .udp)
      let udp = try UDPDatagram(validating: ip.payload)
      #expect(udp.sourcePort == 53000)
      #expect(udp.destinationPort == 53)
      #expect(udp.length == 37)
      #expect(udp.checksum == 0x8D1F)
      #expect(Array(udp.payload) == Sample.dnsQuery)
      #expect(Array(udp.datagram) == Sample.udpDNSDatagram)
      #expect(udp.isChecksumValid(ip.pseudoHeader))
      #expect(udp.isChecksumValid(v4))
      #expect(UDPHeader(udp) == dnsHeader)
    }
  }

  @Test func readsADNSQueryOverIPv6() throws {
    try Sample.udpDNSPacketIPv6.withUnsafeBytes { bytes in
      let ip = try IPv6Packet(validating: bytes)
      let udp = try UDPDatagram(validating: ip.payload)
      #expect(udp.checksum == 0x5955)
      #expect(udp.isChecksumValid(ip.pseudoHeader))
      #expect(!udp.isChecksumValid(v4))
    }
  }

  @Test func checksumCoversThePseudoHeader() throws {
    try Sample.udpDNSDatagram.withUnsafeBytes { bytes in
      let udp = try UDPDatagram(validating: bytes)
      let otherDestination = IPPseudoHeader.ipv4(
        source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 2))
      #expect(!udp.isChecksumValid(otherDestination))
    }
  }

  @Test func checksumCoversEveryByteOfTheDatagram() throws {
    for index in 0..<Sample.udpDNSDatagram.count where !(6...7).contains(index) {
      var bytes = Sample.udpDNSDatagram
      bytes[index] ^= 0x10
      bytes.withUnsafeBytes { raw in
        guard let udp = try? UDPDatagram(validating: raw) else {
          #expect((4...5).contains(index))  // a flipped length may point past the buffer
          return
        }
        #expect(!udp.isChecksumValid(v4), "byte \(index)")
      }
    }
  }

  @Test func zeroChecksumMeansNoneOverIPv4Only() throws {
    var bytes = Sample.udpDNSDatagram
    bytes[6] = 0
    bytes[7] = 0
    try bytes.withUnsafeBytes { raw in
      let udp = try UDPDatagram(validating: raw)
      #expect(udp.isChecksumValid(v4))
      #expect(!udp.isChecksumValid(v6))
    }
  }

  @Test func payloadAndChecksumStopAtTheLengthField() throws {
    let padded = Sample.udpDNSDatagram + [0x01, 0x02, 0x03]
    try padded.withUnsafeBytes { raw in
      let udp = try UDPDatagram(validating: raw)
      #expect(udp.payload.count == 29)
      #expect(udp.datagram.count == 37)
      #expect(udp.isChecksumValid(v4))
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<UDPDatagram.headerLength {
      let error = rejection(Array(Sample.udpDNSDatagram.prefix(length))) {
        _ = try UDPDatagram(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test func rejectsALengthFieldBelow8() {
    for length: UInt8 in 0..<8 {
      var bytes = Sample.udpDNSDatagram
      bytes[5] = length
      #expect(rejection(bytes) { _ = try UDPDatagram(validating: $0) } == .badLength, "\(length)")
    }
    var empty = Array(Sample.udpDNSDatagram[..<8])
    empty[5] = 8
    #expect(rejection(empty) { _ = try UDPDatagram(validating: $0) } == nil)
  }

  @Test func rejectsALengthFieldPastTheBuffer() {
    var bytes = Sample.udpDNSDatagram
    bytes[5] = 38
    #expect(rejection(bytes) { _ = try UDPDatagram(validating: $0) } == .badLength)
    bytes[4] = 0xFF
    #expect(rejection(bytes) { _ = try UDPDatagram(validating: $0) } == .badLength)
  }

  @Test func emitsTheExactBytes() {
    #expect(dnsHeader.emit(payload: Sample.dnsQuery, pseudoHeader: v4) == Sample.udpDNSDatagram)
    #expect(dnsHeader.emit(payload: Sample.dnsQuery, pseudoHeader: v6) == Sample.udpDNSDatagramIPv6)
  }

  @Test func aComputedZeroIsSentAsAllOnes() throws {
    let header = UDPHeader(sourcePort: 1, destinationPort: 2)
    // With a payload word equal to the checksum it produced, the sum becomes 0xffff.
    let first = header.emit(payload: [0, 0], pseudoHeader: v4)
    let datagram = header.emit(payload: [first[6], first[7]], pseudoHeader: v4)
    #expect(datagram[6] == 0xFF && datagram[7] == 0xFF)
    try datagram.withUnsafeBytes { raw in
      let udp = try UDPDatagram(validating: raw)
      #expect(udp.isChecksumValid(v4))
    }
  }

  @Test func emitIntoChecksRoomAndSize() {
    var short = [UInt8](repeating: 0, count: 7)
    #expect(throws: WireError.truncated) {
      try short.withUnsafeMutableBytes { try dnsHeader.emit(into: $0, pseudoHeader: v4) }
    }
    var huge = [UInt8](repeating: 0, count: 65_536)
    #expect(throws: WireError.badLength) {
      try huge.withUnsafeMutableBytes { try dnsHeader.emit(into: $0, pseudoHeader: v4) }
    }
    var largest = [UInt8](repeating: 0, count: 65_535)
    #expect(throws: Never.self) {
      try largest.withUnsafeMutableBytes { try dnsHeader.emit(into: $0, pseudoHeader: v6) }
    }
    #expect(largest[4] == 0xFF && largest[5] == 0xFF)
  }
}
