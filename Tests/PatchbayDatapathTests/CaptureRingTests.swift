import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The capture ring between the datapath and a capture's writer: whole blocks
/// in order, a wrap that never splits a block, refusal (not waiting) when full.
@Suite struct CaptureRingTests {
  /// Writes a packet block of `captured` bytes of `fill` on interface `fill`; false when full.
  @discardableResult
  func push(_ ring: CaptureRing, captured: Int, fill: UInt8) -> Bool {
    let frame = [UInt8](repeating: fill, count: captured)
    guard let (destination, head) = ring.reserve(Pcapng.packetBlockLength(captured: captured))
    else {
      ring.countLost()
      return false
    }
    frame.withUnsafeBytes {
      Pcapng.writePacketBlock(
        to: destination, interface: UInt32(fill), timestamp: UInt64(fill), direction: .inbound,
        frame: $0.baseAddress!, captured: captured, originalLength: captured)
    }
    ring.commit(head)
    return true
  }

  /// Takes every waiting run and returns the fills of its packets, in order.
  func drain(_ ring: CaptureRing, maxBlocks: Int = .max) -> [UInt8] {
    var fills: [UInt8] = []
    while let (bytes, blocks) = ring.nextRun(maxBlocks: maxBlocks - fills.count) {
      let packets = PcapngReader.packets(in: bytes)
      #expect(packets.count == blocks)
      for packet in packets {
        #expect(packet.data.allSatisfy { $0 == UInt8(packet.interface) })
        fills.append(UInt8(packet.interface))
      }
      ring.release(bytes.count)
    }
    return fills
  }

  @Test func blocksComeOutWholeAndInOrderAcrossManyWraps() {
    let ring = CaptureRing(capacity: 1)  // rounds up to 128 KiB
    defer { ring.deallocate() }
    #expect(ring.capacity == 1 << 17)
    var expected: [UInt8] = []
    var fill: UInt8 = 1
    // Odd sizes, so block boundaries land everywhere relative to the end.
    for round in 0..<200 {
      for size in [1500, 60, 9001, 333] {
        #expect(push(ring, captured: size, fill: fill))
        expected.append(fill)
        fill = fill == 255 ? 1 : fill + 1
      }
      if round % 3 == 2 { #expect(drain(ring) == expected); expected.removeAll() }
    }
    #expect(drain(ring) == expected)
    #expect(ring.nextRun() == nil)
  }

  @Test func aFullRingRefusesAndCountsTheLoss() {
    let ring = CaptureRing(capacity: 1 << 17)
    defer { ring.deallocate() }
    let block = Pcapng.packetBlockLength(captured: 65_000)
    #expect(push(ring, captured: 65_000, fill: 1))
    #expect(push(ring, captured: 65_000, fill: 2) == (2 * block <= ring.capacity))
    #expect(!push(ring, captured: 65_000, fill: 3))
    #expect(ring.lostCount == 1)
    #expect(drain(ring) == [1, 2])
    #expect(push(ring, captured: 65_000, fill: 4))
    #expect(drain(ring) == [4])
  }

  @Test func aRunStopsAtTheBlockLimitAndCountersAreShared() {
    let ring = CaptureRing(capacity: 1 << 17)
    defer { ring.deallocate() }
    for fill in 1...5 { push(ring, captured: 100, fill: UInt8(fill)) }
    ring.countFiltered()
    ring.countFiltered()
    #expect(drain(ring, maxBlocks: 3) == [1, 2, 3])
    #expect(drain(ring) == [4, 5])
    #expect(ring.filteredCount == 2 && ring.lostCount == 0)
  }
}
