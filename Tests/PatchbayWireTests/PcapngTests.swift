import Testing

@testable import PatchbayWire

/// pcapng as written: exact bytes of each block, read back by `PcapngReader`.
@Suite struct PcapngTests {
  /// The little-endian word at `offset`.
  func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
  }

  @Test func theHeaderIsASectionThenOneInterfaceBlockPerPort() {
    let header = Pcapng.header(interfaces: [
      Pcapng.Interface(name: "core/h1", description: "tap", snaplen: 262_144),
      Pcapng.Interface(name: "core/h2", description: "tap e2-h2", snaplen: 100),
    ])
    // Section header: 28 bytes of fields, the "Patchbay" option (12), the end of options (4).
    #expect(word(header, 0) == 0x0A0D_0D0A)
    let sectionLength = Int(word(header, 4))
    #expect(word(header, 8) == 0x1A2B_3C4D)
    #expect(header[12] == 1 && header[13] == 0 && header[14] == 0 && header[15] == 0)
    #expect(header[16..<24].allSatisfy { $0 == 0xFF })
    // shb_userappl "Patchbay" (8 bytes, no padding), end of options, trailing length.
    #expect(word(header, 24) == 0x0008_0004)
    #expect(Array(header[28..<36]) == Array("Patchbay".utf8))
    #expect(word(header, 36) == 0)
    #expect(sectionLength == 44 && word(header, 40) == 44)
    // First interface: link type 1, snaplen, if_name, if_description, if_tsresol 9.
    let first = sectionLength
    #expect(word(header, first) == 1)
    let firstLength = Int(word(header, first + 4))
    #expect(word(header, first + 8) == 1)  // link type 1, reserved 0
    #expect(word(header, first + 12) == 262_144)
    #expect(word(header, first + 16) == 0x0007_0002)  // if_name, 7 bytes
    #expect(Array(header[first + 20..<first + 27]) == Array("core/h1".utf8))
    #expect(header[first + 27] == 0)  // padding
    #expect(word(header, first + 28) == 0x0003_0003)  // if_description, 3 bytes
    #expect(word(header, first + 36) == 0x0001_0009)  // if_tsresol, 1 byte
    #expect(header[first + 40] == 9)
    #expect(word(header, first + 44) == 0)  // end of options
    #expect(firstLength == 52 && word(header, first + 48) == 52)
    #expect(
      header.count == sectionLength + firstLength + Int(word(header, first + firstLength + 4)))
    #expect(PcapngReader.interfaceNames(in: header) == ["core/h1", "core/h2"])
  }

  @Test func aPacketBlockCarriesInterfaceTimeLengthsDataAndDirection() {
    let frame: [UInt8] = [1, 2, 3, 4, 5]
    let length = Pcapng.packetBlockLength(captured: 5)
    #expect(length == 52)
    var block = [UInt8](repeating: 0xEE, count: length)
    let timestamp: UInt64 = 1_764_000_000_123_456_789
    block.withUnsafeMutableBytes { destination in
      frame.withUnsafeBytes { source in
        Pcapng.writePacketBlock(
          to: destination.baseAddress!, interface: 3, timestamp: timestamp, direction: .outbound,
          frame: source.baseAddress!, captured: 5, originalLength: 1514)
      }
    }
    let expected: [UInt32] = [
      6, 52, 3, UInt32(timestamp >> 32), UInt32(timestamp & 0xFFFF_FFFF), 5, 1514,
    ]
    for (index, value) in expected.enumerated() { #expect(word(block, index * 4) == value) }
    #expect(Array(block[28..<36]) == [1, 2, 3, 4, 5, 0, 0, 0])  // padding zeroed
    #expect(word(block, 36) == 0x0004_0002)  // epb_flags, 4 bytes
    #expect(word(block, 40) == 2)  // outbound
    #expect(word(block, 44) == 0)  // end of options
    #expect(word(block, 48) == 52)
    block.withUnsafeBytes { bytes in
      let packets = PcapngReader.packets(in: bytes)
      #expect(packets.count == 1)
      #expect(packets.first?.interface == 3)
      #expect(packets.first?.timestamp == timestamp)
      #expect(packets.first?.direction == .outbound)
      #expect(packets.first?.originalLength == 1514)
      #expect(packets.first.map { Array($0.data) } == frame)
    }
  }

  @Test func blockLengthsAreWholeWordsForEveryCapturedLength() {
    for captured in 0..<9 {
      let length = Pcapng.packetBlockLength(captured: captured)
      #expect(length % 4 == 0 && length >= 44 + captured && length < 48 + captured)
    }
  }
}
