extension Pcapng {
  /// A stretch of a batch of blocks that goes into one file of a ring.
  public struct RingRun: Sendable, Equatable {
    /// The bytes of the batch in this stretch (whole blocks).
    public var range: Range<Int>
    /// How many blocks it holds.
    public var blocks: Int
    /// True when the ring starts its next file before writing this stretch.
    public var startsFile: Bool

    /// Makes a run.
    public init(range: Range<Int>, blocks: Int, startsFile: Bool) {
      self.range = range
      self.blocks = blocks
      self.startsFile = startsFile
    }
  }

  /// Splits `batch` (whole blocks, one after another) between the files of
  /// a ring whose files grow to about `fileSize` bytes, dumpcap style: a file
  /// holding `bytesInFile` bytes (its header included) and `blocksInFile`
  /// blocks so far takes blocks while they fit; the next file starts before
  /// the first that would not. A file always takes at least one block, so a
  /// block larger than `fileSize` gets a file of its own; `headerSize` is
  /// what each new file starts with.
  ///
  /// Returns the runs in order, covering the batch exactly; nil when
  /// `batch` is not whole blocks (a length under 12, not a multiple of 4,
  /// or past the end), so a caller never loops or reads out of bounds on
  /// bytes it did not write itself.
  public static func ringRuns(
    _ batch: UnsafeRawBufferPointer, fileSize: Int, headerSize: Int, bytesInFile: Int,
    blocksInFile: Int
  ) -> [RingRun]? {
    var runs: [RingRun] = []
    var bytes = bytesInFile
    var blocks = blocksInFile
    var start = 0
    var end = 0
    var startsFile = false
    var blocksBetween = 0
    while end < batch.count {
      guard batch.count - end >= 12 else { return nil }
      let length = Int(batch.loadUnaligned(fromByteOffset: end + 4, as: UInt32.self))
      guard length >= 12, length % 4 == 0, length <= batch.count - end else { return nil }
      if blocks > 0 && bytes + length > fileSize {
        if end > start {
          runs.append(
            RingRun(range: start..<end, blocks: blocksBetween, startsFile: startsFile))
        }
        start = end
        startsFile = true
        bytes = headerSize
        blocks = 0
        blocksBetween = 0
      }
      end += length
      bytes += length
      blocks += 1
      blocksBetween += 1
    }
    if end > start {
      runs.append(RingRun(range: start..<end, blocks: blocksBetween, startsFile: startsFile))
    }
    return runs
  }
}
