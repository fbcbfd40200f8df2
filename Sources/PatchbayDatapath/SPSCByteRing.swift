import CLinuxNet

/// A single-producer, single-consumer ring of variable-length entries in one
/// block of memory, shared by two threads without locks: the protocol under
/// `CaptureRing` (datapath to a capture's writer) and `HandoffRing` (one
/// datapath thread to the owner).
///
/// Why hand-written: the standard library has no lock-free queue, and entries
/// are written and read in place, so nothing is allocated or reference-counted
/// per entry.
///
/// Why it is safe: `head` (bytes ever written) is stored only by the producer
/// and `tail` (bytes ever consumed) only by the consumer, each with release
/// ordering and read by the other with acquire ordering, so an entry is whole
/// before the consumer can see it and read before the producer can reuse its
/// bytes. An entry never wraps: when one does not fit before the end, the
/// producer writes a zero word there and starts at the beginning; every entry
/// starts with a nonzero 32-bit word (its owner's rule), so the consumer knows
/// the mark. Every pointer handed out lies in `storage`: `reserve` succeeds only
/// for an entry that fits before the end, and the memory is freed only by
/// `deallocate()`, once both threads are done.
struct SPSCByteRing: @unchecked Sendable {
  // Sendable: both threads only touch bytes the head/tail protocol gives them.
  let storage: UnsafeMutableRawPointer
  /// The shared words: head, tail, and spare words from `firstSpareWord` for
  /// the owner's own counters, each group a cache line apart.
  let words: UnsafeMutablePointer<UInt64>
  /// Bytes of entry storage, a power of two.
  let capacity: Int

  private static let headWord = 0
  private static let tailWord = 8
  /// The first word the ring leaves to its owner.
  static let firstSpareWord = 16

  /// A ring of at least `requested` bytes and at least `minimum` (rounded up to
  /// a power of two), with `spareWords` words for the owner after the ring's own.
  init(capacity requested: Int, minimum: Int, spareWords: Int = 0) {
    var size = minimum
    while size < requested { size <<= 1 }
    capacity = size
    storage = .allocate(byteCount: size, alignment: 64)
    let count = SPSCByteRing.firstSpareWord + spareWords
    words = .allocate(capacity: count)
    words.initialize(repeating: 0, count: count)
  }

  /// Frees the memory; only once both threads are done with it.
  func deallocate() {
    storage.deallocate()
    words.deallocate()
  }

  /// Producer: room for an entry of `length` bytes (a multiple of 4, starting
  /// with a nonzero word): where to write it and the head to publish with
  /// `commit(_:)`, or nil when the ring is full.
  @inline(__always)
  func reserve(_ length: Int) -> (destination: UnsafeMutableRawPointer, head: UInt64)? {
    let head = words[SPSCByteRing.headWord]
    let tail = pb_load_acquire(words + SPSCByteRing.tailWord)
    let offset = Int(head & UInt64(capacity - 1))
    let untilEnd = capacity - offset
    let wraps = length > untilEnd
    let needed = wraps ? untilEnd + length : length
    guard Int(head &- tail) + needed <= capacity else { return nil }
    if wraps {
      // The consumer reads this word only after the release store in `commit`.
      storage.storeBytes(of: UInt32(0), toByteOffset: offset, as: UInt32.self)
      return (storage, head &+ UInt64(needed))
    }
    return (storage + offset, head &+ UInt64(length))
  }

  /// Producer: publishes the entry written at the place `reserve` gave.
  @inline(__always)
  func commit(_ head: UInt64) {
    pb_store_release(words + SPSCByteRing.headWord, head)
  }

  /// Consumer: where the oldest entry starts and how many written bytes follow
  /// it before the end of the storage (past wrap marks); nil when none waits.
  @inline(__always)
  func oldest() -> (entry: UnsafeMutableRawPointer, available: Int)? {
    while true {
      let tail = words[SPSCByteRing.tailWord]
      let head = pb_load_acquire(words + SPSCByteRing.headWord)
      guard tail != head else { return nil }
      let offset = Int(tail & UInt64(capacity - 1))
      if storage.load(fromByteOffset: offset, as: UInt32.self) == 0 {
        // The wrap mark: the next entry starts at the beginning.
        pb_store_release(words + SPSCByteRing.tailWord, tail &+ UInt64(capacity - offset))
        continue
      }
      return (storage + offset, min(capacity - offset, Int(head &- tail)))
    }
  }

  /// Consumer: gives back `byteCount` bytes from the oldest entry on.
  @inline(__always)
  func release(_ byteCount: Int) {
    pb_store_release(
      words + SPSCByteRing.tailWord, words[SPSCByteRing.tailWord] &+ UInt64(byteCount))
  }
}
