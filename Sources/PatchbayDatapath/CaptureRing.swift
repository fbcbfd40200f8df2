import CLinuxNet
import PatchbayWire

/// A single-producer, single-consumer ring of pcapng blocks between the
/// datapath thread (which writes whole Enhanced Packet Blocks straight into it)
/// and a capture's writer thread (which copies runs of them to the output).
///
/// Bounded on purpose: when the writer falls behind, the datapath finds no
/// room, counts the frame as lost and switches on; it never waits.
///
/// Memory: the blocks and the shared words are raw allocations made once, so
/// the datapath reaches them through plain pointers (no reference counting per
/// frame). `head` (bytes ever written) is stored only by the producer and
/// `tail` (bytes ever consumed) only by the consumer, each with release
/// ordering and read by the other side with acquire ordering, so a block is
/// fully written before the consumer can see it and fully read before the
/// producer can reuse its bytes. A block never wraps: when one does not fit
/// before the end, the producer writes a zero word there (no block has type 0)
/// and starts at the beginning.
public struct CaptureRing: @unchecked Sendable {
  // Sendable: see the memory note above; both threads only touch bytes the
  // head/tail protocol gives them.
  let storage: UnsafeMutableRawPointer
  let words: UnsafeMutablePointer<UInt64>
  /// Bytes of block storage, a power of two.
  let capacity: Int

  // Word indices, a cache line apart so the two threads do not share one.
  private static let headWord = 0
  private static let tailWord = 8
  private static let filteredWord = 16
  private static let lostWord = 24
  private static let wordCount = 32

  /// A ring of at least `capacity` bytes (rounded up to a power of two, at least 64 KiB + a block).
  public init(capacity requested: Int) {
    var size = 1 << 17
    while size < requested { size <<= 1 }
    capacity = size
    storage = .allocate(byteCount: size, alignment: 64)
    words = .allocate(capacity: CaptureRing.wordCount)
    words.initialize(repeating: 0, count: CaptureRing.wordCount)
  }

  /// Frees the memory; only once both threads are done with it.
  public func deallocate() {
    storage.deallocate()
    words.deallocate()
  }

  // MARK: Producer (the datapath thread)

  /// Room for a block of `length` bytes (a multiple of 4): where to write it
  /// and the head to publish with `commit(_:)`, or nil when the ring is full.
  @inline(__always)
  func reserve(_ length: Int) -> (destination: UnsafeMutableRawPointer, head: UInt64)? {
    let head = words[CaptureRing.headWord]
    let tail = pb_load_acquire(words + CaptureRing.tailWord)
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

  /// Publishes the block written at the place `reserve` gave.
  @inline(__always)
  func commit(_ head: UInt64) {
    pb_store_release(words + CaptureRing.headWord, head)
  }

  /// Counts a frame the capture's filter did not match.
  @inline(__always)
  func countFiltered() {
    pb_store_release(words + CaptureRing.filteredWord, words[CaptureRing.filteredWord] &+ 1)
  }

  /// Counts a frame lost because the ring was full.
  @inline(__always)
  func countLost() {
    pb_store_release(words + CaptureRing.lostWord, words[CaptureRing.lostWord] &+ 1)
  }

  // MARK: Consumer (the capture's writer thread)

  /// Frames the filter did not match so far.
  public var filteredCount: UInt64 { pb_load_acquire(words + CaptureRing.filteredWord) }
  /// Frames lost to a full ring so far.
  public var lostCount: UInt64 { pb_load_acquire(words + CaptureRing.lostWord) }

  /// The longest contiguous run of whole blocks waiting, at most `maxBlocks`
  /// of them, and how many it holds; nil when nothing waits. Hand it back with
  /// `release(_:)` once written.
  public func nextRun(maxBlocks: Int = .max) -> (bytes: UnsafeRawBufferPointer, blocks: Int)? {
    while true {
      let tail = words[CaptureRing.tailWord]
      let head = pb_load_acquire(words + CaptureRing.headWord)
      guard tail != head, maxBlocks > 0 else { return nil }
      let offset = Int(tail & UInt64(capacity - 1))
      if storage.load(fromByteOffset: offset, as: UInt32.self) == 0 {
        // The wrap mark: the next block starts at the beginning.
        pb_store_release(words + CaptureRing.tailWord, tail &+ UInt64(capacity - offset))
        continue
      }
      let limit = min(capacity, offset + Int(head &- tail))
      var end = offset
      var blocks = 0
      while end < limit && blocks < maxBlocks
        && storage.load(fromByteOffset: end, as: UInt32.self) != 0
      {
        end += Pcapng.blockLength(at: storage + end)
        blocks += 1
      }
      return (UnsafeRawBufferPointer(start: storage + offset, count: end - offset), blocks)
    }
  }

  /// Gives back `byteCount` bytes from the tail (a run `nextRun` returned).
  public func release(_ byteCount: Int) {
    pb_store_release(
      words + CaptureRing.tailWord, words[CaptureRing.tailWord] &+ UInt64(byteCount))
  }
}
