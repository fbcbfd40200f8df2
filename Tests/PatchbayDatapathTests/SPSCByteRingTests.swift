import Foundation
import Testing

@testable import PatchbayDatapath

/// The ring under `CaptureRing` and `HandoffRing`: entries of every length
/// arrive whole and in order across the wrap, a full ring refuses, and two
/// threads at once lose and corrupt nothing.
@Suite struct SPSCByteRingTests {
  /// Writes entry `sequence` of `length` bytes (a multiple of 4, at least 8):
  /// its length, its sequence number, then bytes derived from both.
  static func write(_ ring: SPSCByteRing, sequence: UInt32, length: Int) -> Bool {
    guard let (destination, head) = ring.reserve(length) else { return false }
    destination.storeBytes(of: UInt32(length), as: UInt32.self)
    destination.storeBytes(of: sequence, toByteOffset: 4, as: UInt32.self)
    for index in 8..<length {
      destination.storeBytes(
        of: UInt8(truncatingIfNeeded: Int(sequence) &+ index), toByteOffset: index, as: UInt8.self)
    }
    ring.commit(head)
    return true
  }

  /// Reads the oldest entry, checks its bytes, gives it back; its sequence number.
  static func read(_ ring: SPSCByteRing) -> UInt32? {
    guard let (entry, available) = ring.oldest() else { return nil }
    let length = Int(entry.load(as: UInt32.self))
    precondition(length <= available, "an entry runs past what was written")
    let sequence = entry.load(fromByteOffset: 4, as: UInt32.self)
    for index in 8..<length {
      let byte = entry.load(fromByteOffset: index, as: UInt8.self)
      precondition(byte == UInt8(truncatingIfNeeded: Int(sequence) &+ index), "corrupted entry")
    }
    ring.release(length)
    return sequence
  }

  static func length(of sequence: UInt32) -> Int { 8 + Int(sequence % 997) * 4 }

  @Test func entriesArriveWholeAndInOrderAcrossTheWrap() {
    // Entries up to 3,992 bytes: under half the ring, so one always fits once it is empty.
    let ring = SPSCByteRing(capacity: 8192, minimum: 8192)
    defer { ring.deallocate() }
    var next: UInt32 = 0
    var expected: UInt32 = 0
    // Far more bytes than the ring holds: it wraps many times, at every offset.
    while expected < 5000 {
      while Self.write(ring, sequence: next, length: Self.length(of: next)) { next += 1 }
      while let sequence = Self.read(ring) {
        #expect(sequence == expected)
        expected += 1
      }
    }
    #expect(ring.oldest() == nil)
  }

  @Test func aFullRingRefusesAndTakesAgainOnceRead() {
    let ring = SPSCByteRing(capacity: 1024, minimum: 1024)
    defer { ring.deallocate() }
    var written: UInt32 = 0
    while Self.write(ring, sequence: written, length: 256) { written += 1 }
    #expect(written == 4)
    #expect(Self.read(ring) == 0)
    #expect(Self.write(ring, sequence: written, length: 256))
  }

  @Test func twoThreadsLoseAndCorruptNothing() async {
    let ring = SPSCByteRing(capacity: 1 << 16, minimum: 1 << 16)
    defer { ring.deallocate() }
    let total: UInt32 = 200_000
    let producer = Thread {
      var sequence: UInt32 = 0
      while sequence < total {
        if Self.write(ring, sequence: sequence, length: Self.length(of: sequence)) {
          sequence += 1
        }
      }
    }
    producer.start()
    var expected: UInt32 = 0
    var outOfOrder = 0
    while expected < total {
      guard let sequence = Self.read(ring) else { continue }
      if sequence != expected { outOfOrder += 1 }
      expected = sequence + 1
    }
    #expect(outOfOrder == 0)
  }
}
