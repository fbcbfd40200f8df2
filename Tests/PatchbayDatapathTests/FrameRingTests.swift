import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The egress/ingress queue's storage: first in first out, entries that never
/// straddle the end, a wrap that starts over at 0, and refusal when full.
@Suite struct FrameRingTests {
  /// Queues `length` bytes of `fill` (and a header of `fill`) and returns whether it fit.
  @discardableResult
  func push(_ ring: inout FrameRing, length: Int, fill: UInt8) -> Bool {
    let footprint = FrameFootprint(bytes: UInt64(length), packets: UInt64(fill))
    guard let frame = ring.reserve(frameLength: length, footprint: footprint) else { return false }
    (frame - VirtioNetHeader.byteCount).initializeMemory(
      as: UInt8.self, repeating: fill, count: VirtioNetHeader.byteCount + length)
    return true
  }

  /// Takes the head off and returns (length, fill, footprint packets), checking the header too.
  func pop(_ ring: inout FrameRing) -> (length: Int, fill: UInt8, packets: UInt64)? {
    guard let (frame, size, footprint) = ring.peek() else { return nil }
    #expect(size == FrameRing.entrySize(frameLength: frame.count))
    let header = UnsafeRawBufferPointer(
      start: frame.baseAddress! - VirtioNetHeader.byteCount, count: VirtioNetHeader.byteCount)
    let fill = frame.first ?? header[0]
    #expect(frame.allSatisfy { $0 == fill } && header.allSatisfy { $0 == fill })
    ring.removeHead()
    return (frame.count, fill, footprint.packets)
  }

  @Test func framesLeaveInOrderWithTheirHeadersAndFootprints() {
    var ring = FrameRing(capacity: 4096)
    defer { ring.deallocate() }
    #expect(ring.isEmpty)
    for (index, length) in [60, 1514, 0, 333].enumerated() {
      #expect(push(&ring, length: length, fill: UInt8(index + 1)))
    }
    #expect(ring.count == 4)
    for (index, length) in [60, 1514, 0, 333].enumerated() {
      let popped = pop(&ring)
      #expect(popped?.length == length && popped?.fill == UInt8(index + 1))
      #expect(popped?.packets == UInt64(index + 1))
    }
    #expect(ring.isEmpty && pop(&ring) == nil)
  }

  @Test func entriesAreAlignedAndSizedAsDocumented() {
    // 32-byte record + 16 bytes of headroom + the frame, rounded up to 8.
    #expect(FrameRing.entrySize(frameLength: 0) == 48)
    #expect(FrameRing.entrySize(frameLength: 1) == 56)
    #expect(FrameRing.entrySize(frameLength: 1514) == 1568)
  }

  @Test func aFullRingRefusesAndTakesAgainOnceDrained() {
    let entry = FrameRing.entrySize(frameLength: 100)
    var ring = FrameRing(capacity: 3 * entry)
    defer { ring.deallocate() }
    #expect(push(&ring, length: 100, fill: 1))
    #expect(push(&ring, length: 100, fill: 2))
    #expect(push(&ring, length: 100, fill: 3))
    #expect(!push(&ring, length: 100, fill: 4))
    #expect(ring.count == 3)
    #expect(pop(&ring)?.fill == 1)
    // The freed entry at the start takes the next frame: the tail wraps.
    #expect(push(&ring, length: 100, fill: 4))
    #expect(!push(&ring, length: 100, fill: 5))
    #expect([pop(&ring)?.fill, pop(&ring)?.fill, pop(&ring)?.fill] == [2, 3, 4])
    #expect(ring.isEmpty)
  }

  @Test func anEntryThatDoesNotFitBeforeTheEndStartsOverAtZero() {
    let small = FrameRing.entrySize(frameLength: 100)  // 152
    let big = FrameRing.entrySize(frameLength: 400)  // 448
    var ring = FrameRing(capacity: 4 * small)  // 608
    defer { ring.deallocate() }
    #expect(push(&ring, length: 100, fill: 1))
    #expect(push(&ring, length: 100, fill: 2))
    #expect(push(&ring, length: 100, fill: 3))
    #expect(pop(&ring)?.fill == 1)
    #expect(pop(&ring)?.fill == 2)
    // 152 bytes are free at the end and 304 at the start: a 448-byte entry fits neither.
    #expect(!push(&ring, length: 400, fill: 9))
    // A small one goes at the end; then one more wraps to the start, before the head.
    #expect(push(&ring, length: 100, fill: 4))
    #expect(push(&ring, length: 100, fill: 5))
    #expect(push(&ring, length: 100, fill: 6))
    #expect(!push(&ring, length: 100, fill: 7))
    #expect(
      [pop(&ring)?.fill, pop(&ring)?.fill, pop(&ring)?.fill, pop(&ring)?.fill] == [3, 4, 5, 6])
    // Empty again: the whole ring is one span from 0.
    #expect(big <= ring.capacity && push(&ring, length: 400, fill: 8))
    #expect(pop(&ring)?.fill == 8)
  }

  @Test func aWrapMarkInTheMiddleIsFollowed() {
    // Capacity for 2 entries of 500 with 200 bytes left over at the end.
    let entry = FrameRing.entrySize(frameLength: 500)  // 552
    var ring = FrameRing(capacity: 2 * entry + 200)
    defer { ring.deallocate() }
    #expect(push(&ring, length: 500, fill: 1))
    #expect(push(&ring, length: 500, fill: 2))
    #expect(pop(&ring)?.fill == 1)
    // 200 bytes at the end cannot hold 552: a wrap mark is left there and the entry goes to 0.
    #expect(push(&ring, length: 500, fill: 3))
    #expect(pop(&ring)?.fill == 2)
    #expect(pop(&ring)?.fill == 3)
    #expect(ring.isEmpty)
  }

  @Test func aLongRandomRunMatchesAQueue() {
    var ring = FrameRing(capacity: 16 * 1024)
    defer { ring.deallocate() }
    var model: [(Int, UInt8)] = []
    // A fixed-seed LCG: the same run every time.
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return seed >> 33
    }
    for step in 0..<20_000 {
      if next() % 3 != 0 {
        let length = Int(next() % 2000)
        let fill = UInt8(truncatingIfNeeded: step) | 1
        if push(&ring, length: length, fill: fill) { model.append((length, fill)) }
      } else if let popped = pop(&ring) {
        let expected = model.removeFirst()
        #expect(popped.length == expected.0 && popped.fill == expected.1)
      } else {
        #expect(model.isEmpty)
      }
      #expect(ring.count == model.count)
    }
  }
}
