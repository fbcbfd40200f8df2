import CLinuxNet
import PatchbayCore
import PatchbayWire

/// What a handed-over frame is to the thread that takes it.
enum HandoffKind: UInt8 {
  /// Received on the port: it enters the switch there (taps, ingress limit, decision).
  case arriving
  /// Sent by the switch to the port: it takes the egress path there.
  case leaving
}

/// One frame handed from a datapath thread to the owner thread, as it lies in
/// the ring: the fields below, then the virtio-net header, then the frame.
struct HandoffHeader {
  // First, so a zero word marks the ring's wrap.
  var length: UInt32 = 0
  var kind: HandoffKind
  /// The global port it arrives on or leaves by.
  var global: Int32
  /// For a leaving frame: its classification (`IngressFrame.rawValue`).
  var classified: UInt64

  /// Bytes of an entry for a frame of `length` bytes, rounded to 8 so the next header is aligned.
  static func entrySize(frameLength length: Int) -> Int {
    (MemoryLayout<HandoffHeader>.stride + VirtioNetHeader.byteCount + length + 7) & ~7
  }
}

/// A single-producer, single-consumer ring of frames from one datapath thread
/// (the producer) to the thread that owns the ports it cannot serve itself
/// (the consumer; see `DatapathGroup`).
///
/// Why hand-written: the standard library has no lock-free queue, and the
/// frames are copied in and read in place, so nothing is allocated or
/// reference-counted per frame. It is `CaptureRing`'s protocol: `head` (bytes
/// ever written) is stored only by the producer and `tail` (bytes ever
/// consumed) only by the consumer, each with release ordering and read by the
/// other with acquire ordering, so an entry is whole before the consumer sees
/// it and read before the producer reuses its bytes. An entry never wraps:
/// when one does not fit before the end, the producer writes a zero length
/// there (no entry is empty) and starts at the beginning.
struct HandoffRing: @unchecked Sendable {
  // Sendable: both threads only touch bytes the head/tail protocol gives them.
  let storage: UnsafeMutableRawPointer
  let words: UnsafeMutablePointer<UInt64>
  /// Bytes of entry storage, a power of two.
  let capacity: Int

  private static let headWord = 0
  private static let tailWord = 8
  private static let wordCount = 16

  /// A ring of at least `capacity` bytes (rounded up to a power of two, room for a superframe).
  init(capacity requested: Int) {
    var size = 1 << 18
    while size < requested { size <<= 1 }
    capacity = size
    storage = .allocate(byteCount: size, alignment: 64)
    words = .allocate(capacity: HandoffRing.wordCount)
    words.initialize(repeating: 0, count: HandoffRing.wordCount)
  }

  /// Frees the memory; only once both threads are done with it.
  func deallocate() {
    storage.deallocate()
    words.deallocate()
  }

  /// Producer: copies `frame` (its virtio-net header just before it) in with
  /// `header`; false when the ring is full (the caller counts the drop).
  func push(_ frame: UnsafeRawBufferPointer, _ header: HandoffHeader) -> Bool {
    let size = HandoffHeader.entrySize(frameLength: frame.count)
    let head = words[HandoffRing.headWord]
    let tail = pb_load_acquire(words + HandoffRing.tailWord)
    var offset = Int(head & UInt64(capacity - 1))
    let untilEnd = capacity - offset
    let needed = size > untilEnd ? untilEnd + size : size
    guard Int(head &- tail) + needed <= capacity else { return false }
    if size > untilEnd {
      // The consumer reads this word only after the release store below.
      storage.storeBytes(of: UInt32(0), toByteOffset: offset, as: UInt32.self)
      offset = 0
    }
    var stored = header
    stored.length = UInt32(frame.count)
    storage.storeBytes(of: stored, toByteOffset: offset, as: HandoffHeader.self)
    let bytes = storage + offset + MemoryLayout<HandoffHeader>.stride
    bytes.copyMemory(
      from: frame.baseAddress! - VirtioNetHeader.byteCount,
      byteCount: VirtioNetHeader.byteCount + frame.count)
    pb_store_release(words + HandoffRing.headWord, head &+ UInt64(needed))
    return true
  }

  /// Consumer: the oldest entry, its frame in place (virtio-net header just
  /// before it), or nil when none waits. Hand it back with `removeHead()`.
  func peek() -> (header: HandoffHeader, frame: UnsafeMutableRawBufferPointer)? {
    while true {
      let tail = words[HandoffRing.tailWord]
      let head = pb_load_acquire(words + HandoffRing.headWord)
      guard tail != head else { return nil }
      let offset = Int(tail & UInt64(capacity - 1))
      let length = storage.load(fromByteOffset: offset, as: UInt32.self)
      if length == 0 {
        pb_store_release(words + HandoffRing.tailWord, tail &+ UInt64(capacity - offset))
        continue
      }
      let header = storage.load(fromByteOffset: offset, as: HandoffHeader.self)
      let start =
        storage + offset + MemoryLayout<HandoffHeader>.stride + VirtioNetHeader.byteCount
      return (header, UnsafeMutableRawBufferPointer(start: start, count: Int(length)))
    }
  }

  /// Consumer: gives back the entry `peek` returned.
  func removeHead() {
    let tail = words[HandoffRing.tailWord]
    let offset = Int(tail & UInt64(capacity - 1))
    let length = Int(storage.load(fromByteOffset: offset, as: UInt32.self))
    pb_store_release(
      words + HandoffRing.tailWord,
      tail &+ UInt64(HandoffHeader.entrySize(frameLength: length)))
  }
}
