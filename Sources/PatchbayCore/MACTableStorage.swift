// The MAC table's slab and index (MACTable.swift), in their own file: the
// unsafe storage and the argument for why it is safe, in one place.
extension MACTable {
  /// One slot of the slab: everything about an entry in 40 bytes, so a lookup,
  /// a refresh and a move touch one array and (mostly) one cache line.
  struct Entry {
    var key: UInt64
    var lastSeen: UInt64
    // When the entry was last placed at the newest end of the recency list.
    var linkedAt: UInt64
    // Least-recently-seen list over learned entries, by slab index; -1 ends it.
    var previous: Int32
    var next: Int32
    var port: Int32
    var isStatic: Bool
  }

  /// The slab and the index, in memory the table manages itself, shared by
  /// copies of the table until one of them writes (copy on write, below).
  ///
  /// Why not arrays: every `entries[i]` and `buckets[i]` of an array pays a
  /// bounds check, and every write a uniqueness check; the per-frame refresh
  /// does two probes and a write. Here the table checks uniqueness once per
  /// mutating call (`makeUnique`), and indexes without bounds checks.
  ///
  /// Why that is safe: every index used is in range by construction.
  /// - Bucket indexes come from `home(of:)` (a 64-bit hash shifted right by
  ///   `bucketShift`, so below `bucketCount`) or are masked with `bucketMask`.
  /// - Slab indexes come from a bucket (slab index + 1, written only by
  ///   `insertIntoIndex` with an index from `freeSlots`), from `freeSlots`
  ///   (filled with `0..<slotCount`), or from the recency list links (set only
  ///   to slab indexes of linked entries, or -1, which is tested before use).
  /// The learned part never exceeds `capacity` (eviction first) and the static
  /// part `staticCapacity` (checked), so `freeSlots` never runs dry.
  final class Storage: @unchecked Sendable {
    // @unchecked Sendable: a Storage is written only through a table that
    // holds the sole reference to it (`makeUnique` copies it otherwise), so
    // no two threads ever see a write to the same Storage.
    let entries: UnsafeMutablePointer<Entry>
    let slotCount: Int
    // Open-addressed index: 0 is empty, otherwise slab index + 1.
    let buckets: UnsafeMutablePointer<Int32>
    let bucketCount: Int

    init(slotCount: Int, bucketCount: Int) {
      self.slotCount = slotCount
      self.bucketCount = bucketCount
      entries = .allocate(capacity: slotCount)
      entries.initialize(
        repeating: Entry(
          key: 0, lastSeen: 0, linkedAt: 0, previous: -1, next: -1, port: 0, isStatic: false),
        count: slotCount)
      buckets = .allocate(capacity: bucketCount)
      buckets.initialize(repeating: 0, count: bucketCount)
    }

    /// A copy of the slab and the index.
    init(copying other: Storage) {
      slotCount = other.slotCount
      bucketCount = other.bucketCount
      entries = .allocate(capacity: slotCount)
      entries.initialize(from: other.entries, count: slotCount)
      buckets = .allocate(capacity: bucketCount)
      buckets.initialize(from: other.buckets, count: bucketCount)
    }

    deinit {
      // Entry and Int32 are trivial: nothing to deinitialize.
      entries.deallocate()
      buckets.deallocate()
    }
  }
}
