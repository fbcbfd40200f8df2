import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The capture stage writes each tapped frame as one pcapng Enhanced Packet
/// Block into the capture's ring: interface, direction, lengths, bytes.
@Suite struct CaptureTapTests {
  /// One block read from a ring.
  struct Block: Equatable {
    var interface: UInt32
    var timestamp: UInt64
    var captured: Int
    var original: Int
    var bytes: [UInt8]
    var direction: UInt32
  }

  /// Every block waiting in `ring`, taken out of it.
  func blocks(in ring: CaptureRing) -> [Block] {
    var found: [Block] = []
    while let (run, _) = ring.nextRun() {
      var offset = 0
      while offset < run.count {
        let block = run.baseAddress! + offset
        let length = Int(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        #expect(block.loadUnaligned(as: UInt32.self) == 6)
        let captured = Int(block.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        let padded = (captured + 3) & ~3
        found.append(
          Block(
            interface: block.loadUnaligned(fromByteOffset: 8, as: UInt32.self),
            timestamp: UInt64(block.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) << 32
              | UInt64(block.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
            captured: captured,
            original: Int(block.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
            bytes: Array(UnsafeRawBufferPointer(start: block + 28, count: captured)),
            direction: block.loadUnaligned(fromByteOffset: 28 + padded + 4, as: UInt32.self)))
        offset += length
      }
      ring.release(run.count)
    }
    return found
  }

  @Test func recordsBothDirectionsAsPcapngBlocks() throws {
    let lab = try LoopbackLab(portCount: 2)
    let ring = lab.capture(port: 0, interfaceID: 3, direction: .both)
    let out = testFrame(to: 2, from: 1, sequence: 1)
    let back = testFrame(to: 1, from: 2, sequence: 2, length: 70)
    let before = WallClock.nanoseconds()
    try lab.ports[0].inject(out)
    lab.turn()
    try lab.ports[1].inject(back)
    lab.turn()
    let after = WallClock.nanoseconds()
    let found = blocks(in: ring)
    #expect(found.count == 2)
    guard found.count == 2 else { return }
    #expect(found.map(\.interface) == [3, 3])
    #expect(found.map(\.bytes) == [out, back])
    #expect(found.map(\.captured) == [60, 70])
    #expect(found.map(\.original) == [60, 70])
    #expect(
      found.map(\.direction)
        == [Pcapng.Direction.inbound.rawValue, Pcapng.Direction.outbound.rawValue])
    // pcapng timestamps come from the wall clock, read as the frame is recorded.
    #expect(found.allSatisfy { $0.timestamp >= before && $0.timestamp <= after })
    #expect(ring.lostCount == 0)
    #expect(ring.filteredCount == 0)
  }

  @Test func aFilterAndASnaplenDecideWhatIsKept() throws {
    let lab = try LoopbackLab(portCount: 2)
    let filter = try PacketFilter("ether dst 02:00:00:00:00:02")
    let ring = lab.capture(port: 0, direction: .in, filter: filter, snaplen: 20)
    let kept = testFrame(to: 2, from: 1, sequence: 9, length: 100)
    try lab.ports[0].inject(kept)
    try lab.ports[0].inject(testFrame(to: 3, from: 1, sequence: 10))
    lab.turn()
    let found = blocks(in: ring)
    #expect(found.count == 1)
    #expect(found.first?.bytes == Array(kept[0..<20]))
    #expect(found.first?.captured == 20)
    #expect(found.first?.original == 100)
    #expect(ring.filteredCount == 1)
    withExtendedLifetime(filter) {}
  }

  @Test func aFullRingLosesTheCopyNotTheFrame() throws {
    let lab = try LoopbackLab(portCount: 2)
    let ring = lab.capture(port: 1, capacity: 0, direction: .out)
    // Nobody drains the ring: it holds this many blocks of 1,514-byte frames.
    let fits = ring.capacity / Pcapng.packetBlockLength(captured: 1514)
    let offered = fits + 5
    var sent = 0
    var received: [Int] = []
    while sent < offered {
      // Fewer than a socket pair's queue of datagrams at a time.
      for _ in 0..<min(32, offered - sent) {
        try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sent, length: 1514))
        sent += 1
      }
      lab.turn()
      received += lab.ports[1].receiveAll().map(sequence(of:))
    }
    #expect(received == Array(0..<offered))
    #expect(lab.counters(1).transmittedPackets == UInt64(offered))
    #expect(ring.lostCount == 5)
    #expect(blocks(in: ring).map { sequence(of: $0.bytes) } == Array(0..<fits))
  }
}
