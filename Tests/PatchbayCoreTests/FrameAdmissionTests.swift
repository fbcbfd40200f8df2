import PatchbayCore
import PatchbayWire
import Testing

/// A TSO header as the kernel writes it for a TCP/IPv4 superframe.
private let tso = VirtioNetHeader(
  flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 1, headerLength: 66, gsoSize: 1448,
  checksumStart: 34, checksumOffset: 16)
private let limit = FrameAdmission.maximumFrameLength(mtu: 1500)

private func verdict(_ header: VirtioNetHeader, _ length: Int) -> DropReason? {
  FrameAdmission.verdict(header: header, frameLength: length, maximumLength: limit)
}

@Suite("FrameAdmission")
struct FrameAdmissionTests {
  @Test func mtuAllowsEthernetHeaderAndTwoTags() {
    #expect(limit == 1500 + 14 + 8)
    #expect(FrameAdmission.maximumFrameLength(mtu: 9000) == 9022)
  }

  @Test func plainFramesUpToTheLimitPass() {
    #expect(verdict(.plain, 60) == nil)
    #expect(verdict(.plain, limit) == nil)
    #expect(verdict(.plain, limit + 1) == .oversize)
    #expect(verdict(.plain, 9014) == .oversize, "a jumbo frame on a 1500-byte port")
  }

  @Test func superframesMayExceedTheMTU() {
    #expect(verdict(tso, 65_000) == nil)
    var uso = tso
    uso.gsoTypeByte = 5
    uso.checksumOffset = 6
    #expect(verdict(uso, 30_000) == nil)
    var ecn = tso
    ecn.gsoTypeByte = 1 | VirtioNetHeader.ecnBit
    #expect(verdict(ecn, 30_000) == nil)
  }

  @Test func aGSOFrameWithoutSegmentSizeIsRefused() {
    var header = tso
    header.gsoSize = 0
    #expect(verdict(header, 30_000) == .badOffload)
  }

  @Test func anUnknownGSOTypeIsRefused() {
    var header = tso
    header.gsoTypeByte = 2
    #expect(verdict(header, 30_000) == .badOffload)
    header.gsoTypeByte = 0x7F
    #expect(verdict(header, 1000) == .badOffload)
  }

  @Test func aChecksumPastTheEndIsRefused() {
    var header = VirtioNetHeader.plain
    header.flags = VirtioNetHeader.needsChecksum
    header.checksumStart = 34
    header.checksumOffset = 6
    #expect(verdict(header, 42) == nil, "the UDP checksum field ends at byte 42")
    #expect(verdict(header, 41) == .badOffload)
    header.checksumStart = 0xFFFF
    header.checksumOffset = 0xFFFF
    #expect(verdict(header, 1000) == .badOffload, "no overflow into a small value")
    // A partial checksum on a frame that is also too long is still oversize.
    header.checksumStart = 34
    header.checksumOffset = 16
    #expect(verdict(header, limit + 1) == .oversize)
  }

  @Test func aHeaderLengthPastTheEndIsRefused() {
    var header = tso
    header.headerLength = 2000
    #expect(verdict(header, 1500) == .badOffload)
    header.headerLength = 0
    #expect(verdict(header, 1500) == nil, "0 means the sender gave no hint")
  }
}
