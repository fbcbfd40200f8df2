import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// Toward a port with `offload: false`, a TCP superframe leaves as MTU-sized
/// segments with zeroed virtio-net headers; toward a port that takes
/// offloads, as it came.
@Suite struct SoftwareOffloadEgressTests {
  /// A TCP/IPv4 superframe from MAC 02::01 to 02::02 with `payload` bytes and
  /// a GSO header cutting it into segments of `segmentSize`.
  func superframe(payload: Int, segmentSize: Int) -> (header: [UInt8], frame: [UInt8]) {
    var frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
    let total = 20 + 20 + payload
    frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]
    frame += [10, 0, 0, 1, 10, 0, 0, 2]
    // Ports 1000 -> 2000, sequence 0x01000000, ACK|PSH, window 0xffff.
    frame += [
      0x03, 0xe8, 0x07, 0xd0, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    ]
    frame += (0..<payload).map { UInt8(truncatingIfNeeded: $0 * 13 + 1) }
    var header = [UInt8](repeating: 0, count: 10)
    VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: VirtioNetHeader.GSOType.tcpIPv4.rawValue,
      headerLength: 54, gsoSize: UInt16(segmentSize), checksumStart: 34, checksumOffset: 16
    ).store(to: &header)
    return (header, frame)
  }

  @Test func aSuperframeLeavesAsSegments() throws {
    let lab = try LoopbackLab(portCount: 2, acceptsOffloads: [true, false])
    let (header, frame) = superframe(payload: 3_000, segmentSize: 1_000)
    try lab.ports[0].inject(frame, header: header)
    lab.turn()
    var segments: [(header: [UInt8], frame: [UInt8])] = []
    while let segment = lab.ports[1].receive() { segments.append(segment) }
    #expect(segments.count == 3)
    guard segments.count == 3 else { return }
    #expect(segments.allSatisfy { $0.header == [UInt8](repeating: 0, count: 10) })
    #expect(segments.map(\.frame.count) == [1_054, 1_054, 1_054])
    // Each segment: the superframe's headers with its own total length and sequence number.
    for (index, segment) in segments.enumerated() {
      #expect(Array(segment.frame[0..<14]) == Array(frame[0..<14]))
      #expect(Array(segment.frame[16..<18]) == [0x04, 0x10])  // 1,040
      let sequence = segment.frame[38..<42].reduce(0) { $0 << 8 | Int($1) }
      #expect(sequence == 0x0100_0000 + 1_000 * index)
    }
    #expect(segments.flatMap { $0.frame[54...] } == Array(frame[54...]))
    #expect(lab.counters(1).transmittedPackets == 3)
    #expect(lab.counters(1).transmittedBytes == 3 * 1_054)
  }

  @Test func aPortThatTakesOffloadsGetsTheSuperframeAsItCame() throws {
    let lab = try LoopbackLab(portCount: 2)
    let (header, frame) = superframe(payload: 3_000, segmentSize: 1_000)
    try lab.ports[0].inject(frame, header: header)
    lab.turn()
    let received = lab.ports[1].receive()
    #expect(received?.header == header)
    #expect(received?.frame == frame)
    #expect(lab.ports[1].receive() == nil)
  }

  @Test func aHeaderThatDoesNotDescribeTheFrameIsABadOffload() throws {
    let lab = try LoopbackLab(portCount: 2, acceptsOffloads: [true, false])
    var (header, frame) = superframe(payload: 3_000, segmentSize: 1_000)
    // A TCP/IPv6 GSO request on an IPv4 frame: it passes admission (every
    // field lies inside the frame), so only the segmenter can refuse it.
    header[1] = VirtioNetHeader.GSOType.tcpIPv6.rawValue
    try lab.ports[0].inject(frame, header: header)
    lab.turn()
    #expect(lab.ports[1].receive() == nil)
    #expect(lab.counters(0)[dropped: .badOffload] == 0)
    #expect(lab.counters(1)[transmitDropped: .badOffload] == 1)
  }
}
