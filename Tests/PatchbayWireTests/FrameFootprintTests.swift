import PatchbayWire
import Testing

// Frames are built byte by byte: FrameFootprint reads only the Ethernet header
// (for tags), and for a TCP superframe the data offset nibble at
// checksumStart + 12. The IP headers are filled in for realism, not because
// they are read.

/// An Ethernet frame: addresses, one tag per TPID in `tags` (VLAN 10), `etherType`, `payload`.
private func ethernet(
  tags: [UInt16] = [], etherType: UInt16 = 0x0800, payload: [UInt8]
) -> [UInt8] {
  var frame: [UInt8] = [
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // destination
    0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,  // source
  ]
  for tpid in tags {
    frame += [UInt8(tpid >> 8), UInt8(tpid & 0xFF), 0x00, 0x0A]
  }
  return frame + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)] + payload
}

/// A 20-byte IPv4 header (no options) carrying `proto`.
private func ipv4Header(proto: UInt8) -> [UInt8] {
  [
    0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
    0x40, proto, 0x00, 0x00,
    0x0a, 0x00, 0x0a, 0x0b,  // 10.0.10.11
    0x0a, 0x00, 0x0a, 0x0c,  // 10.0.10.12
  ]
}

/// A 40-byte IPv6 header carrying `next`.
private func ipv6Header(next: UInt8) -> [UInt8] {
  [0x60, 0, 0, 0, 0, 0, next, 64] + [UInt8](repeating: 0xfd, count: 32)
}

/// A TCP header of `length` bytes whose data offset nibble says `dataOffset` words.
private func tcpHeader(length: Int = 32, dataOffset: UInt8? = nil) -> [UInt8] {
  var header = [UInt8](repeating: 0, count: length)
  header[0...3] = [0xd4, 0x31, 0x00, 0x50]  // ports 54321 -> 80
  header[12] = (dataOffset ?? UInt8(length / 4)) << 4
  header[13] = 0x10  // ACK
  return header
}

/// An 8-byte UDP header.
private let udpHeader: [UInt8] = [0xcf, 0x08, 0x00, 0x35, 0, 0, 0, 0]

/// `count` payload bytes.
private func data(_ count: Int) -> [UInt8] { [UInt8](repeating: 0xAB, count: count) }

/// A GSO header as a Linux guest sends it.
private func gso(
  type: UInt8, size: UInt16, checksumStart: UInt16, flags: UInt8 = VirtioNetHeader.needsChecksum
) -> VirtioNetHeader {
  VirtioNetHeader(
    flags: flags, gsoTypeByte: type, headerLength: 0, gsoSize: size,
    checksumStart: checksumStart, checksumOffset: 16)
}

private func footprint(_ frame: [UInt8], _ header: VirtioNetHeader = .plain) -> FrameFootprint {
  frame.withUnsafeBytes { FrameFootprint(frame: $0, header: header) }
}

/// A TCP/IPv4 superframe: 14 + 20 + 32 header bytes and `payload` bytes of data.
private func tcpIPv4Superframe(payload: Int) -> [UInt8] {
  ethernet(payload: ipv4Header(proto: 6) + tcpHeader() + data(payload))
}

/// The TSO header for `tcpIPv4Superframe`: MSS 1448, TCP at 34.
private let tso = gso(type: 1, size: 1_448, checksumStart: 34)

/// Pins down what a frame costs a rate limit: layer-3 bytes with the Ethernet
/// header and tags left out, at least 46 bytes a segment, and a GSO superframe
/// counted as the segments it becomes, each with its own copy of the IP and
/// TCP/UDP headers; a header that does not describe the frame counts it as one
/// packet of its own size.
@Suite("FrameFootprint")
struct FrameFootprintTests {
  // MARK: Single frames

  @Test func anUntaggedFullFrameIsItsLayer3Bytes() {
    let frame = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(1_472))
    #expect(frame.count == 1_514)
    let footprint = footprint(frame)
    #expect(footprint == FrameFootprint(bytes: 1_500, packets: 1))
    #expect(footprint.bitCost == 12_000)
    #expect(footprint.packetCost == 1)
  }

  @Test func vlanTagsAreNotCounted() {
    let packet = ipv4Header(proto: 17) + udpHeader + data(1_472)
    let tagged = ethernet(tags: [0x8100], payload: packet)
    #expect(tagged.count == 1_518)
    #expect(footprint(tagged) == FrameFootprint(bytes: 1_500, packets: 1))
    // QinQ: an 802.1ad outer tag and an 802.1Q inner one.
    let qinq = ethernet(tags: [0x88a8, 0x8100], payload: packet)
    #expect(qinq.count == 1_522)
    #expect(footprint(qinq) == FrameFootprint(bytes: 1_500, packets: 1))
  }

  @Test func aSegmentCountsAtLeast46Bytes() {
    // A 20-byte runt: 6 bytes after the header, counted as 46.
    #expect(footprint(data(20)) == FrameFootprint(bytes: 46, packets: 1))
    // Shorter than an Ethernet header: nothing after it, still 46.
    #expect(footprint(data(10)) == FrameFootprint(bytes: 46, packets: 1))
    #expect(footprint([]) == FrameFootprint(bytes: 46, packets: 1))
    // The 60-byte Ethernet minimum is exactly 46; one byte more is 47.
    #expect(footprint(ethernet(payload: data(46))) == FrameFootprint(bytes: 46, packets: 1))
    #expect(footprint(ethernet(payload: data(47))) == FrameFootprint(bytes: 47, packets: 1))
    // A tagged minimum frame (64 bytes) carries the same 46.
    #expect(
      footprint(ethernet(tags: [0x8100], payload: data(46)))
        == FrameFootprint(bytes: 46, packets: 1))
  }

  @Test func aTagCutShortCountsFromByte14() {
    // 0x8100 but only 2 bytes after it: no whole tag, so the header is taken as
    // the plain 14 bytes and the 2 bytes after it as a (minimum-sized) payload.
    let frame = ethernet(etherType: 0x8100, payload: [0x00, 0x0A])
    #expect(frame.count == 16)
    #expect(footprint(frame) == FrameFootprint(bytes: 46, packets: 1))
    // An outer tag whole, the inner one cut short: likewise.
    let cut = ethernet(tags: [0x88a8], etherType: 0x8100, payload: [0x00])
    #expect(cut.count == 19)
    #expect(footprint(cut) == FrameFootprint(bytes: 46, packets: 1))
  }

  // MARK: TCP superframes

  @Test func aTCPIPv4SuperframeCountsEverySegmentWithItsHeaders() {
    // Ten segments of 1448 bytes: each goes out as 20 + 32 + 1448 = 1500 bytes.
    let frame = tcpIPv4Superframe(payload: 10 * 1_448)
    #expect(frame.count == 14_546)
    let footprint = footprint(frame, tso)
    #expect(footprint == FrameFootprint(bytes: 10 * (20 + 32 + 1_448), packets: 10))
    #expect(footprint.bytes == 15_000)
    #expect(footprint.bitCost == 120_000)
    #expect(footprint.packetCost == 10)
  }

  @Test func aPartialLastSegmentCountsAsOne() {
    // 10 full segments and 100 bytes: 11 segments, the last of 52 + 100 bytes.
    let frame = tcpIPv4Superframe(payload: 10 * 1_448 + 100)
    #expect(footprint(frame, tso) == FrameFootprint(bytes: 15_000 + 152, packets: 11))
    // One byte short of 10 full segments is still 10 segments.
    #expect(
      footprint(tcpIPv4Superframe(payload: 10 * 1_448 - 1), tso)
        == FrameFootprint(bytes: 14_999, packets: 10))
    // Less than one segment's worth: a single segment of its own size.
    #expect(
      footprint(tcpIPv4Superframe(payload: 100), tso) == FrameFootprint(bytes: 152, packets: 1))
  }

  @Test func theECNBitDoesNotChangeTheType() {
    let ecn = gso(type: 0x81, size: 1_448, checksumStart: 34)
    #expect(
      footprint(tcpIPv4Superframe(payload: 10 * 1_448), ecn)
        == FrameFootprint(bytes: 15_000, packets: 10))
  }

  @Test func aTaggedSuperframeCountsNoTagBytes() {
    // The tag shifts the TCP header to 38 (42 for QinQ); the segments are the same.
    let packet = ipv4Header(proto: 6) + tcpHeader() + data(10 * 1_448)
    let tagged = ethernet(tags: [0x8100], payload: packet)
    #expect(
      footprint(tagged, gso(type: 1, size: 1_448, checksumStart: 38))
        == FrameFootprint(bytes: 15_000, packets: 10))
    let qinq = ethernet(tags: [0x88a8, 0x8100], payload: packet)
    #expect(
      footprint(qinq, gso(type: 1, size: 1_448, checksumStart: 42))
        == FrameFootprint(bytes: 15_000, packets: 10))
  }

  @Test func aTCPIPv6SuperframeCountsTheIPv6Header() {
    // 40 + 32 header bytes and MSS 1428: five 1500-byte segments.
    let frame = ethernet(
      etherType: 0x86DD, payload: ipv6Header(next: 6) + tcpHeader() + data(5 * 1_428))
    #expect(frame.count == 7_226)
    #expect(
      footprint(frame, gso(type: 4, size: 1_428, checksumStart: 54))
        == FrameFootprint(bytes: 7_500, packets: 5))
  }

  @Test func theTCPHeaderLengthComesFromItsDataOffset() {
    // A 20-byte TCP header (no options): 2 segments of 20 + 20 + 1000.
    let plain = ethernet(payload: ipv4Header(proto: 6) + tcpHeader(length: 20) + data(2_000))
    let header = gso(type: 1, size: 1_000, checksumStart: 34)
    #expect(footprint(plain, header) == FrameFootprint(bytes: 2_080, packets: 2))
    // A 60-byte header (the most options): 2 segments of 20 + 60 + 1000.
    let options = ethernet(payload: ipv4Header(proto: 6) + tcpHeader(length: 60) + data(2_000))
    #expect(footprint(options, header) == FrameFootprint(bytes: 2_160, packets: 2))
    // A data offset below 5 words is taken as the 20-byte minimum.
    let bogus = ethernet(
      payload: ipv4Header(proto: 6) + tcpHeader(length: 20, dataOffset: 0) + data(2_000))
    #expect(footprint(bogus, header) == FrameFootprint(bytes: 2_080, packets: 2))
  }

  // MARK: UDP superframes

  @Test func aUDPL4SuperframeCountsAnEightByteHeaderPerSegment() {
    // USO: four datagrams of 20 + 8 + 1000 bytes.
    let frame = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(4_000))
    let uso = gso(type: 5, size: 1_000, checksumStart: 34)
    #expect(footprint(frame, uso) == FrameFootprint(bytes: 4 * 1_028, packets: 4))
    // One byte more is a fifth datagram of 28 + 1 bytes, which counts 46.
    let partial = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(4_001))
    #expect(footprint(partial, uso) == FrameFootprint(bytes: 4 * 1_028 + 46, packets: 5))
  }

  @Test func aLegacyUFOSuperframeIsCountedLikeUSO() {
    let frame = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(2 * 1_472))
    #expect(
      footprint(frame, gso(type: 3, size: 1_472, checksumStart: 34))
        == FrameFootprint(bytes: 3_000, packets: 2))
  }

  @Test func aSmallGSOSegmentCountsAtLeast46Bytes() {
    // The minimum holds per segment, not per superframe: a USO superframe of
    // three 1-byte datagrams is three 29-byte segments, each counting 46 (138,
    // not 3 × 29 = 87); and a one-segment USO frame counts what the same frame
    // without a GSO header counts.
    let three = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(3))
    #expect(
      footprint(three, gso(type: 5, size: 1, checksumStart: 34))
        == FrameFootprint(bytes: 3 * 46, packets: 3))
    let one = ethernet(payload: ipv4Header(proto: 17) + udpHeader + data(1))
    #expect(footprint(one) == FrameFootprint(bytes: 46, packets: 1))
    #expect(
      footprint(one, gso(type: 5, size: 1_400, checksumStart: 34))
        == FrameFootprint(bytes: 46, packets: 1))
  }

  // MARK: Headers that do not describe the frame

  @Test(
    "A bad GSO header counts the frame as one packet of its own size",
    arguments: [
      // No segment size.
      gso(type: 1, size: 0, checksumStart: 34),
      // No partial checksum, so no checksum start to find the TCP header by.
      gso(type: 1, size: 1_448, checksumStart: 34, flags: 0),
      gso(type: 1, size: 1_448, checksumStart: 34, flags: VirtioNetHeader.dataValid),
      // Checksum start at the end, past the end, or too near the end for a TCP header.
      gso(type: 1, size: 1_448, checksumStart: 14_546),
      gso(type: 1, size: 1_448, checksumStart: 20_000),
      gso(type: 1, size: 1_448, checksumStart: 14_533),
      // Checksum start inside the Ethernet header.
      gso(type: 1, size: 1_448, checksumStart: 10),
      // Types Patchbay does not know (2 is unused, 6 is undefined).
      gso(type: 2, size: 1_448, checksumStart: 34),
      gso(type: 6, size: 1_448, checksumStart: 34),
      gso(type: 0x7F, size: 1_448, checksumStart: 34),
      // Not GSO at all, whatever else the header says (0x80 is the ECN bit alone).
      gso(type: 0, size: 1_448, checksumStart: 34),
      gso(type: 0x80, size: 1_448, checksumStart: 34),
      VirtioNetHeader.plain,
    ])
  func badHeader(_ header: VirtioNetHeader) {
    let frame = tcpIPv4Superframe(payload: 10 * 1_448)
    #expect(footprint(frame, header) == FrameFootprint(bytes: 14_532, packets: 1))
  }

  @Test func headersWithNoPayloadCountAsOnePacket() {
    // TCP headers end exactly at the end of the frame: nothing to segment.
    let tcp = tcpIPv4Superframe(payload: 0)
    #expect(tcp.count == 66)
    #expect(footprint(tcp, tso) == FrameFootprint(bytes: 52, packets: 1))
    // UDP likewise, and its 28 bytes count as the 46-byte minimum.
    let udp = ethernet(payload: ipv4Header(proto: 17) + udpHeader)
    #expect(
      footprint(udp, gso(type: 5, size: 1_000, checksumStart: 34))
        == FrameFootprint(bytes: 46, packets: 1))
    // A TCP header cut short (checksum start 34, only 13 bytes after it).
    let cut = ethernet(payload: ipv4Header(proto: 6) + Array(tcpHeader()[0..<13]))
    #expect(footprint(cut, tso) == FrameFootprint(bytes: 46, packets: 1))
  }

  // MARK: Costs

  @Test func costsAreBitsAndPackets() {
    #expect(FrameFootprint(bytes: 1_500, packets: 1).bitCost == 12_000)
    #expect(FrameFootprint(bytes: 46, packets: 1).bitCost == 368)
    #expect(FrameFootprint(bytes: 15_000, packets: 10).packetCost == 10)
    #expect(FrameFootprint(bytes: 0, packets: 0).bitCost == 0)
    #expect(FrameFootprint(bytes: 0, packets: 0).packetCost == 0)
  }

  @Test func costsAreCappedAt2To32() {
    #expect(FrameFootprint.maximumBits == 4_294_967_296)
    // 2²⁹ bytes is exactly 2³² bits.
    #expect(FrameFootprint(bytes: 1 << 29, packets: 1).bitCost == 4_294_967_296)
    #expect(FrameFootprint(bytes: (1 << 29) - 1, packets: 1).bitCost == 4_294_967_288)
    #expect(FrameFootprint(bytes: 1 << 40, packets: 1).bitCost == 4_294_967_296)
    // Past 2⁶¹ bytes a multiply-first cap would wrap to 0; the cap comes first.
    #expect(FrameFootprint(bytes: 1 << 61, packets: 1).bitCost == 4_294_967_296)
    #expect(FrameFootprint(bytes: .max, packets: 1).bitCost == 4_294_967_296)
    #expect(FrameFootprint(bytes: 1, packets: 1 << 40).packetCost == 4_294_967_296)
    #expect(FrameFootprint(bytes: 1, packets: .max).packetCost == 4_294_967_296)
    #expect(FrameFootprint(bytes: 1, packets: 4_294_967_295).packetCost == 4_294_967_295)
  }
}
