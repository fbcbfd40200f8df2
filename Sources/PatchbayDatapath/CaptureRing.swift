import CLinuxNet
import PatchbayWire

/// A single-producer, single-consumer ring of pcapng blocks between the
/// datapath thread (which writes whole Enhanced Packet Blocks straight into it)
/// and a capture's writer thread (which copies runs of them to the output).
///
/// Bounded on purpose: when the writer falls behind, the datapath finds no
/// room, counts the frame as lost and switches on; it never waits.
///
/// On `SPSCByteRing`: the datapath writes blocks in place and the writer reads
/// runs of them in place. No pcapng block has type 0, so a block's first word
/// is never the ring's wrap mark.
public struct CaptureRing: Sendable {
  let ring: SPSCByteRing

  /// Bytes of block storage, a power of two.
  var capacity: Int { ring.capacity }

  // The two counters, in the ring's spare words, a cache line apart.
  private static let filteredWord = SPSCByteRing.firstSpareWord
  private static let lostWord = SPSCByteRing.firstSpareWord + 8

  /// A ring of at least `capacity` bytes (rounded up to a power of two, at least 64 KiB + a block).
  public init(capacity requested: Int) {
    ring = SPSCByteRing(capacity: requested, minimum: 1 << 17, spareWords: 16)
  }

  /// Frees the memory; only once both threads are done with it.
  public func deallocate() { ring.deallocate() }

  // MARK: Producer (the datapath thread)

  /// Room for a block of `length` bytes (a multiple of 4): where to write it
  /// and the head to publish with `commit(_:)`, or nil when the ring is full.
  @inline(__always)
  func reserve(_ length: Int) -> (destination: UnsafeMutableRawPointer, head: UInt64)? {
    ring.reserve(length)
  }

  /// Publishes the block written at the place `reserve` gave.
  @inline(__always)
  func commit(_ head: UInt64) { ring.commit(head) }

  /// Counts a frame the capture's filter did not match.
  @inline(__always)
  func countFiltered() {
    pb_store_release(
      ring.words + CaptureRing.filteredWord, ring.words[CaptureRing.filteredWord] &+ 1)
  }

  /// Counts a frame lost because the ring was full.
  @inline(__always)
  func countLost() {
    pb_store_release(ring.words + CaptureRing.lostWord, ring.words[CaptureRing.lostWord] &+ 1)
  }

  // MARK: Consumer (the capture's writer thread)

  /// Frames the filter did not match so far.
  public var filteredCount: UInt64 { pb_load_acquire(ring.words + CaptureRing.filteredWord) }
  /// Frames lost to a full ring so far.
  public var lostCount: UInt64 { pb_load_acquire(ring.words + CaptureRing.lostWord) }

  /// The longest contiguous run of whole blocks waiting, at most `maxBlocks`
  /// of them, and how many it holds; nil when nothing waits. Hand it back with
  /// `release(_:)` once written.
  public func nextRun(maxBlocks: Int = .max) -> (bytes: UnsafeRawBufferPointer, blocks: Int)? {
    guard maxBlocks > 0, let (start, available) = ring.oldest() else { return nil }
    var length = 0
    var blocks = 0
    while length < available && blocks < maxBlocks
      && start.load(fromByteOffset: length, as: UInt32.self) != 0
    {
      length += Pcapng.blockLength(at: start + length)
      blocks += 1
    }
    return (UnsafeRawBufferPointer(start: start, count: length), blocks)
  }

  /// Gives back `byteCount` bytes from the tail (a run `nextRun` returned).
  public func release(_ byteCount: Int) { ring.release(byteCount) }
}
