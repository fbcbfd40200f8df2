// The table's two per-frame operations, a refresh of a known source and the
// lookup of a destination, for a batch of frames (`Bridge.process(_:on:at:into:)`):
// the slab and index pointers, the hash shift and mask, and the aging and
// relink times read once per batch into a `BatchView` rather than through the
// table on every probe (six loads a probe, two probes a frame).
extension MACTable {
  /// What a batch reads on every frame, read once (see the file comment).
  ///
  /// Why it is safe: the pointers are those of `storage`, which only
  /// `makeUnique` replaces and nothing frees while the table holds it. A view
  /// is taken after `makeUnique`, lives for one batch, and every mutation the
  /// batch makes meanwhile (`learnChange`, `relink`) goes through the table,
  /// which is then already unique, so it writes the same storage in place.
  struct BatchView {
    let entries: UnsafeMutablePointer<Entry>
    let buckets: UnsafeMutablePointer<Int32>
    let bucketShift: UInt64
    let bucketMask: Int
    let aging: UInt64
    let relinkInterval: UInt64

    /// `slotIndex(of:)`: the slot holding `key`, or -1.
    @inline(__always)
    func slotIndex(of key: UInt64) -> Int {
      MACTable.probe(
        for: key, entries: entries, buckets: buckets, shift: bucketShift, mask: bucketMask)
    }

    /// `isExpired(_:at:)` for a slot of the view.
    @inline(__always)
    func isExpired(_ slot: Int, at now: UInt64) -> Bool {
      let seen = entries[slot].lastSeen
      return !entries[slot].isStatic && (now >= seen ? now &- seen : 0) >= aging
    }

    /// `lookup(_:vlan:at:)` by key: the port, or -1 when unknown or expired.
    @inline(__always)
    func port(of key: UInt64, at now: UInt64) -> Int {
      let found = slotIndex(of: key)
      guard found >= 0, !isExpired(found, at: now) else { return -1 }
      return Int(entries[found].port)
    }
  }

  /// A view for a batch; only after `makeUnique()`.
  @inline(__always)
  var batchView: BatchView {
    BatchView(
      entries: entries, buckets: buckets, bucketShift: bucketShift,
      bucketMask: bucketMask, aging: agingNanoseconds, relinkInterval: relinkInterval)
  }

  /// `refreshInPlace(_:on:at:)` through `view`: `refreshed`, or what
  /// `learnChange` needs (the entry's slot, or -1).
  @inline(__always)
  mutating func refreshInPlace(
    _ key: UInt64, on port: Int, at now: UInt64, through view: BatchView
  ) -> Int32 {
    let index = view.slotIndex(of: key)
    let found = Int32(truncatingIfNeeded: index)
    if index >= 0 && Int(view.entries[index].port) == port && !view.entries[index].isStatic {
      let seen = view.entries[index].lastSeen
      guard (now >= seen ? now &- seen : 0) < view.aging else { return found }
      view.entries[index].lastSeen = now
      if now &- view.entries[index].linkedAt >= view.relinkInterval {
        relink(found, at: Instant(nanoseconds: now))
      }
      return MACTable.refreshed
    }
    return found
  }
}
