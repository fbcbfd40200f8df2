import PatchbayWire
import Testing

/// A packet-socket receive buffer: `room` bytes of 0xee, the header, the frame.
private func receiveBuffer(room: Int, header: [UInt8], frame: [UInt8]) -> [UInt8] {
  [UInt8](repeating: 0xEE, count: room) + header + frame
}

private let addresses: [UInt8] = [
  0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // destination
  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // source
]
/// An untagged IPv4 frame's addresses, EtherType and four payload bytes.
private let untagged = addresses + [0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]
/// A header saying only "checksums verified".
private let dataValid: [UInt8] = [0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0]

struct HeaderedFrameTests {
  @Test func reinserts8021QTagKeepingPriorityAndDropEligible() throws {
    var bytes = receiveBuffer(room: 6, header: dataValid, frame: untagged)
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: untagged.count)
      // PCP 5, DEI 1, VID 10.
      try view.reinsertTag(VLANTag(protocolID: .vlan, controlInformation: 0xB00A))
      #expect(view.headerOffset == 2)
      #expect(view.frameOffset == 12)
      #expect(view.frameLength == 22)
      #expect(
        Array(view.frame) == addresses + [
          0x81, 0x00, 0xB0, 0x0A, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF,
        ])
    }
    #expect(
      bytes == [0xEE, 0xEE] + dataValid + addresses
        + [0x81, 0x00, 0xB0, 0x0A, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF])
  }

  @Test func reinserts8021adTagAndShiftsAGSOHeader() throws {
    // TSO over IPv4: partial checksum from 34 at +16, headers 54 long, 1448 per segment.
    let header: [UInt8] = [0x01, 0x01, 54, 0, 0xA8, 0x05, 34, 0, 16, 0]
    var bytes = receiveBuffer(room: 6, header: header, frame: untagged)
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: untagged.count)
      // PCP 7, DEI 0, VID 255.
      try view.reinsertTag(VLANTag(protocolID: .serviceVLAN, controlInformation: 0xE0FF))
      #expect(
        view.header
          == VirtioNetHeader(
            flags: 1, gsoTypeByte: 1, headerLength: 58, gsoSize: 1448, checksumStart: 38,
            checksumOffset: 16))
    }
    #expect(
      bytes == [0xEE, 0xEE] + [0x01, 0x01, 58, 0, 0xA8, 0x05, 38, 0, 16, 0] + addresses
        + [0x88, 0xA8, 0xE0, 0xFF, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF])
  }

  @Test func shiftsTheChecksumStartButNotAHeaderLengthWithoutGSO() throws {
    // A partial checksum, no GSO (only the ECN bit): the header length is a hint and stays.
    let header: [UInt8] = [0x01, 0x80, 54, 0, 0, 0, 34, 0, 6, 0]
    var bytes = receiveBuffer(room: 4, header: header, frame: untagged)
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 4, frameLength: untagged.count)
      try view.reinsertTag(VLANTag(vlanID: 20))
      #expect(view.headerOffset == 0)
    }
    #expect(
      bytes == [0x01, 0x80, 54, 0, 0, 0, 38, 0, 6, 0] + addresses
        + [0x81, 0x00, 0x00, 0x14, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF])
  }

  @Test func leavesOffsetsInsideTheAddressesAndAZeroHeaderLength() throws {
    // GSO with header length 0 (a sender's "unknown"), checksum start 6 (inside the addresses).
    let header: [UInt8] = [0x01, 0x04, 0, 0, 0x00, 0x04, 6, 0, 2, 0]
    var bytes = receiveBuffer(room: 4, header: header, frame: addresses)
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 4, frameLength: addresses.count)
      try view.reinsertTag(VLANTag(vlanID: 1))
      #expect(view.frameLength == 16)
    }
    #expect(bytes == header + addresses + [0x81, 0x00, 0x00, 0x01])
  }

  @Test func refusesAFrameShorterThanItsAddresses() throws {
    let short = Array(addresses.prefix(11))
    var bytes = receiveBuffer(room: 6, header: dataValid, frame: short)
    let before = bytes
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: short.count)
      #expect(throws: WireError.truncated) { try view.reinsertTag(VLANTag(vlanID: 10)) }
      #expect(view.headerOffset == 6)
      #expect(view.frameLength == 11)
    }
    #expect(bytes == before)
  }

  @Test func refusesWithoutRoomBeforeTheHeader() throws {
    var bytes = receiveBuffer(room: 3, header: dataValid, frame: untagged)
    let before = bytes
    try bytes.withUnsafeMutableBytes { buffer in
      var view = try HeaderedFrame(buffer: buffer, headerOffset: 3, frameLength: untagged.count)
      #expect(throws: WireError.badLength) { try view.reinsertTag(VLANTag(vlanID: 10)) }
      #expect(view.headerOffset == 3)
      #expect(view.frameLength == untagged.count)
    }
    #expect(bytes == before)
  }

  @Test func refusesAViewOutsideItsBuffer() throws {
    var bytes = receiveBuffer(room: 6, header: dataValid, frame: untagged)
    bytes.withUnsafeMutableBytes { buffer in
      #expect(buffer.count == 34)
      #expect((try? HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: 18)) != nil)
      #expect(throws: WireError.badLength) {
        try HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: 19)
      }
      #expect(throws: WireError.badLength) {
        try HeaderedFrame(buffer: buffer, headerOffset: 25, frameLength: 0)
      }
      #expect(throws: WireError.badLength) {
        try HeaderedFrame(buffer: buffer, headerOffset: -1, frameLength: 0)
      }
      #expect(throws: WireError.badLength) {
        try HeaderedFrame(buffer: buffer, headerOffset: 6, frameLength: Int.max)
      }
      #expect(throws: WireError.badLength) {
        try HeaderedFrame(buffer: buffer, headerOffset: Int.max, frameLength: Int.max)
      }
    }
  }
}
