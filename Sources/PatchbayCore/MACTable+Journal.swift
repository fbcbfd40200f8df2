import PatchbayWire

/// A learned address one table tells its peers about: another datapath
/// thread's copy of the same switch learns or refreshes it (`applyLearned`).
public struct MACTableJournalEntry: Hashable, Sendable {
  /// The (VLAN, MAC) key's raw value.
  public var key: UInt64
  /// The port it was seen on.
  public var port: Int32
  /// When it was seen, in nanoseconds.
  public var seen: UInt64

  /// An entry for `key` seen on `port` at `seen`.
  public init(key: UInt64, port: Int32, seen: UInt64) {
    self.key = key
    self.port = port
    self.seen = seen
  }
}

// How a table's copies on other datapath threads learn what it learned
// (`isJournaling`, `journal`; DatapathGroup merges them once per turn).
extension MACTable {
  /// Takes what the journal holds and empties it, keeping its storage.
  public mutating func takeJournal(into target: inout [MACTableJournalEntry]) {
    target.append(contentsOf: journal)
    journal.removeAll(keepingCapacity: true)
  }

  /// Learns what a peer table journaled: the address on its port, seen when
  /// it was seen (never older than what this table saw itself on that port),
  /// without counting it in `statistics` (the peer counted it) and without
  /// journaling it again. A static entry stays; learning limits are the
  /// peer's to enforce (it learned the address only within them).
  public mutating func applyLearned(_ entry: MACTableJournalEntry) {
    makeUnique()
    let found = slot(of: entry.key)
    if found >= 0 {
      let index = Int(found)
      if entries[index].isStatic { return }
      if entries[index].port == entry.port && entries[index].lastSeen >= entry.seen { return }
    }
    let counted = statistics
    let journaling = isJournaling
    isJournaling = false
    _ = learnChange(
      entry.key, found: found, on: Int(entry.port), at: Instant(nanoseconds: entry.seen),
      limit: .max)
    isJournaling = journaling
    statistics = counted
  }
}
