import PatchbayWire

/// The MAC learning table: open addressing with linear probing over an entry slab,
/// keyed by (VLAN, MAC), with aging and a size limit.
///
/// Learned entries sit on a recency list, oldest first: eviction when full and
/// the aging sweep are O(1) per entry removed. Every array is sized once at
/// creation; learning, lookup, eviction and expiry never allocate. An entry is
/// valid while `now - lastSeen < agingTime`: at exactly the aging time it is gone.
///
/// Learning writes only what changed. A known source seen again has its last
/// sighting stored (one word in a cache line the lookup already read), but it
/// moves to the newest end of the list only when it was placed there at least
/// `relinkInterval` ago (aging / 64, at most one second): relinking on every
/// frame cost more than a third of the forwarding decision. So the list is in
/// the order of placement, each entry at most `relinkInterval` behind its last
/// sighting, and:
/// - lookup and expiry stay exact (they read `lastSeen`), and the sweep removes
///   every expired entry (it walks all entries placed an aging time ago);
/// - eviction when full takes the entry placed least recently, which is a least
///   recently seen entry to within `relinkInterval`.
public struct MACTable: Sendable {
  /// How long a learned entry lives without being seen, in nanoseconds.
  public let agingNanoseconds: UInt64
  /// The most learned entries the table holds.
  public let capacity: Int
  /// The most static entries the table holds.
  public let staticCapacity: Int

  /// How many learned entries there are (expired ones included until swept).
  public private(set) var learnedCount = 0
  /// How many static entries there are.
  public private(set) var staticCount = 0
  /// Event counters.
  public internal(set) var statistics = MACTableStatistics()
  /// How stale an entry's place on the recency list may get before a sighting
  /// moves it to the newest end, in nanoseconds: aging / 64, at most one second.
  public let relinkInterval: UInt64
  /// Whether learning, moves and relinks are written to `journal`, for the
  /// copies of this table on other datapath threads (off for one thread).
  public var isJournaling = false
  /// What this table learned since its owner last took it (`takeJournal`):
  /// a new address or a move as it happens, a refresh once per
  /// `relinkInterval` (so a peer's copy ages no sooner than this one).
  public internal(set) var journal: [MACTableJournalEntry] = []

  private var storage: Storage
  // The slab, read and written in place (see `Storage`).
  var entries: UnsafeMutablePointer<Entry> {
    @inline(__always) get { storage.entries }
  }
  // The index (see `Storage`).
  var buckets: UnsafeMutablePointer<Int32> {
    @inline(__always) get { storage.buckets }
  }
  // Learned entries per port, for per-port limits (`max-macs`).
  private var portEntryCounts: [Int32]
  private var oldest: Int32 = -1
  private var newest: Int32 = -1
  private var freeSlots: [Int32]
  let bucketShift: UInt64
  let bucketMask: Int

  /// Makes an empty table for ports numbered below `portCount`.
  public init(capacity: Int, aging: Duration, staticCapacity: Int = 256, portCount: Int = 64) {
    precondition(capacity > 0 && staticCapacity >= 0, "MAC table capacity must be positive")
    self.capacity = capacity
    self.staticCapacity = staticCapacity
    self.agingNanoseconds = aging.nanoseconds
    self.relinkInterval = min(aging.nanoseconds / 64, 1_000_000_000)
    let slots = capacity + staticCapacity
    freeSlots = (0..<Int32(slots)).reversed()
    portEntryCounts = Array(repeating: 0, count: portCount)
    // Load factor at most one half keeps probe sequences short.
    var bucketCount = 16
    while bucketCount < slots * 2 { bucketCount <<= 1 }
    storage = Storage(slotCount: slots, bucketCount: bucketCount)
    bucketMask = bucketCount - 1
    bucketShift = UInt64(64 - bucketCount.trailingZeroBitCount)
  }

  /// Entries in the table, learned and static.
  public var count: Int { learnedCount + staticCount }

  /// Learned entries on `port` (expired ones included until swept).
  public func learnedCount(on port: Int) -> Int { Int(portEntryCounts[port]) }

  @inline(__always)
  private func home(of key: UInt64) -> Int {
    // Fibonacci hashing: the multiply spreads the low MAC bits into the top bits.
    // `&>>`: the shift is below 64 by construction, so no over-shift test.
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) &>> bucketShift)
  }

  /// `slot(of:)` as an `Int` for the per-frame path: read as unsigned, a bucket
  /// minus one is provably -1 or a non-negative index, so using it needs no
  /// sign extension and no further test.
  @inline(__always)
  private func slotIndex(of key: UInt64) -> Int {
    MACTable.probe(
      for: key, entries: entries, buckets: buckets, shift: bucketShift, mask: bucketMask)
  }

  /// The probe `slotIndex(of:)` and `BatchView` share: the slot holding
  /// `key`, or -1. `buckets` and `entries` are the storage's (see `Storage`).
  @inline(__always)
  static func probe(
    for key: UInt64, entries: UnsafeMutablePointer<Entry>, buckets: UnsafeMutablePointer<Int32>,
    shift: UInt64, mask: Int
  ) -> Int {
    var index = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    while true {
      let bucket = Int(UInt32(bitPattern: buckets[index]))
      if bucket == 0 { return -1 }
      if entries[bucket &- 1].key == key { return bucket &- 1 }
      index = (index &+ 1) & mask
    }
  }

  @inline(__always)
  func slot(of key: UInt64) -> Int32 {
    var index = home(of: key)
    while true {
      let bucket = buckets[index]
      if bucket == 0 { return -1 }
      if entries[Int(bucket &- 1)].key == key { return bucket &- 1 }
      index = (index &+ 1) & bucketMask
    }
  }

  /// Gives this table its own storage before a write, if a copy shares it.
  /// Internal for `Bridge.process`, which calls it first thing (see `learnInPlace`).
  @inline(__always)
  mutating func makeUnique() {
    if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
  }

  @inline(__always)
  private func isExpired(_ slot: Int, at now: Instant) -> Bool {
    !entries[slot].isStatic
      && now.nanoseconds(since: Instant(nanoseconds: entries[slot].lastSeen)) >= agingNanoseconds
  }

  /// The port `mac` in `vlan` lives on, unless unknown or expired at `now`.
  @inline(__always)
  public func lookup(_ mac: MACAddress, vlan: UInt16, at now: Instant) -> Int? {
    let found = slotIndex(of: MACTableKey(vlan: vlan, mac: mac).rawValue)
    guard found >= 0, !isExpired(found, at: now) else { return nil }
    return Int(entries[found].port)
  }

  /// Records that `mac` in `vlan` was seen as a source on `port` at `now`.
  /// When the address is new to the port and the port already has `limit`
  /// learned addresses (expired ones swept first), nothing changes and the
  /// outcome is `limitReached`.
  ///
  /// Writes only what changed: a refresh on the same port stores the time, and
  /// moves the entry on the recency list only once per `relinkInterval`.
  @inline(__always)
  public mutating func learn(
    _ mac: MACAddress, vlan: UInt16, on port: Int, at now: Instant, limit: Int = .max
  ) -> LearnOutcome {
    makeUnique()
    let key = MACTableKey(vlan: vlan, mac: mac).rawValue
    let found = refreshInPlace(key, on: port, at: now)
    if found == MACTable.refreshed { return .refreshed }
    return learnChange(key, found: found, on: port, at: now, limit: limit)
  }

  /// What `refreshInPlace` returns when it refreshed the entry.
  static let refreshed: Int32 = -2

  /// The common case of `learn`, inline: a known learned source, on its own
  /// port, still fresh, has its sighting stored. Returns `refreshed`, or else
  /// what `learnChange` needs: the entry's slot, or -1 if there is none.
  ///
  /// For a caller that called `makeUnique()` and has not copied the table since.
  /// The bridge does that at the top of `process`, where few values are live: a
  /// uniqueness check is a call, and in the middle of the frame's work it made
  /// the compiler spill everything live around it. The bridge also calls
  /// `learnChange` out of line itself, so the learning limit is read only there.
  @inline(__always)
  mutating func refreshInPlace(_ key: UInt64, on port: Int, at now: Instant) -> Int32 {
    let index = slotIndex(of: key)
    // Slab indexes fit in an Int32 (`freeSlots` is made of them).
    let found = Int32(truncatingIfNeeded: index)
    if index >= 0 {
      // Widened, not narrowed: comparing `Int32(port)` would test `port` for overflow.
      if Int(entries[index].port) == port && !entries[index].isStatic
        && !isExpired(index, at: now)
      {
        entries[index].lastSeen = now.nanoseconds
        if now.nanoseconds &- entries[index].linkedAt >= relinkInterval { relink(found, at: now) }
        return MACTable.refreshed
      }
    }
    return found
  }

  /// Everything but a refresh: a new address, a move, an expired entry coming
  /// back, a static entry. Out of line, so that `learn` stays small enough to
  /// be inlined into the bridge's per-frame path. `found` is `slot(of: key)`.
  @inline(never)
  mutating func learnChange(
    _ key: UInt64, found: Int32, on port: Int, at now: Instant, limit: Int
  ) -> LearnOutcome {
    makeUnique()
    var found = found
    if found >= 0, !entries[Int(found)].isStatic, Int(entries[Int(found)].port) != port {
      if isAtLimit(port, limit, at: now) { return .limitReached }
      // Checking the limit may have swept expired entries, this one among them.
      found = slot(of: key)
    }
    if found >= 0 {
      let index = Int(found)
      if entries[index].isStatic {
        return entries[index].port == Int32(port) ? .staticMatch : .staticConflict
      }
      let previousPort = Int(entries[index].port)
      let wasExpired = isExpired(index, at: now)
      entries[index].lastSeen = now.nanoseconds
      markNewest(found, at: now)
      if previousPort == port {
        if wasExpired {
          if isJournaling { note(found, at: now) }
          statistics.learned += 1
          return .learned
        }
        return .refreshed
      }
      entries[index].port = Int32(port)
      portEntryCounts[previousPort] -= 1
      portEntryCounts[port] += 1
      if isJournaling { note(found, at: now) }
      if wasExpired { statistics.learned += 1; return .learned }
      statistics.moved += 1
      return .moved(from: previousPort)
    }
    if isAtLimit(port, limit, at: now) { return .limitReached }
    if learnedCount == capacity { evictOldest(at: now) }
    let index = freeSlots.removeLast()
    entries[Int(index)].key = key
    entries[Int(index)].port = Int32(port)
    entries[Int(index)].lastSeen = now.nanoseconds
    entries[Int(index)].linkedAt = now.nanoseconds
    entries[Int(index)].isStatic = false
    appendNewest(index)
    insertIntoIndex(index)
    learnedCount += 1
    portEntryCounts[port] += 1
    statistics.learned += 1
    if isJournaling { note(index, at: now) }
    return .learned
  }

  /// True when `port` holds `limit` learned entries that have not expired.
  /// Only then is the list swept, so a port under its limit pays one compare.
  private mutating func isAtLimit(_ port: Int, _ limit: Int, at now: Instant) -> Bool {
    guard Int(portEntryCounts[port]) >= limit else { return false }
    expire(at: now)
    return Int(portEntryCounts[port]) >= limit
  }

  /// Adds or replaces a static entry that never ages. Returns false when the
  /// static part of the table is full.
  @discardableResult
  public mutating func addStatic(_ mac: MACAddress, vlan: UInt16, port: Int) -> Bool {
    makeUnique()
    let key = MACTableKey(vlan: vlan, mac: mac).rawValue
    let found = slot(of: key)
    if found >= 0 {
      if !entries[Int(found)].isStatic {
        guard staticCount < staticCapacity else { return false }
        unlink(found)
        learnedCount -= 1
        portEntryCounts[Int(entries[Int(found)].port)] -= 1
        staticCount += 1
        entries[Int(found)].isStatic = true
      }
      entries[Int(found)].port = Int32(port)
      return true
    }
    guard staticCount < staticCapacity else { return false }
    let index = freeSlots.removeLast()
    entries[Int(index)].key = key
    entries[Int(index)].port = Int32(port)
    entries[Int(index)].lastSeen = 0
    entries[Int(index)].isStatic = true
    insertIntoIndex(index)
    staticCount += 1
    return true
  }

  /// Removes every learned entry on `port` (its link went down). Static entries stay.
  public mutating func flush(port: Int) {
    makeUnique()
    var cursor = oldest
    while cursor >= 0 {
      let following = entries[Int(cursor)].next
      if entries[Int(cursor)].port == Int32(port) {
        remove(cursor)
        statistics.flushed += 1
      }
      cursor = following
    }
  }

  /// Removes every learned entry not seen for the aging time at `now`; returns how many.
  @discardableResult
  public mutating func expire(at now: Instant) -> Int {
    makeUnique()
    var removed = 0
    // An entry is seen less than `relinkInterval` after it was placed, so
    // every expired entry was placed at least an aging time ago: those are a
    // prefix of the list. Its entries seen since stay where they are until
    // their next sighting moves them.
    var cursor = oldest
    while cursor >= 0,
      now.nanoseconds(since: Instant(nanoseconds: entries[Int(cursor)].linkedAt))
        >= agingNanoseconds
    {
      let following = entries[Int(cursor)].next
      if isExpired(Int(cursor), at: now) {
        remove(cursor)
        removed += 1
      }
      cursor = following
    }
    statistics.expired += UInt64(removed)
    return removed
  }

  /// A snapshot of the live entries at `now`, sorted by VLAN, then MAC.
  public func entries(at now: Instant) -> [MACTableEntry] {
    var result: [MACTableEntry] = []
    for bucket in UnsafeBufferPointer(start: buckets, count: storage.bucketCount) where bucket != 0
    {
      let index = Int(bucket - 1)
      guard !isExpired(index, at: now) else { continue }
      let key = MACTableKey(rawValue: entries[index].key)
      result.append(
        MACTableEntry(
          vlan: key.vlan, mac: key.mac, port: Int(entries[index].port),
          ageNanoseconds: entries[index].isStatic
            ? 0 : now.nanoseconds(since: Instant(nanoseconds: entries[index].lastSeen)),
          isStatic: entries[index].isStatic))
    }
    return result.sorted { ($0.vlan, $0.mac) < ($1.vlan, $1.mac) }
  }

  private mutating func evictOldest(at now: Instant) {
    let victim = oldest
    precondition(victim >= 0, "a full table has an oldest entry")
    if isExpired(Int(victim), at: now) {
      statistics.expired += 1
    } else {
      statistics.evicted += 1
    }
    remove(victim)
  }

  private mutating func remove(_ index: Int32) {
    unlink(index)
    removeFromIndex(index)
    freeSlots.append(index)
    learnedCount -= 1
    portEntryCounts[Int(entries[Int(index)].port)] -= 1
  }

  @inline(__always)
  private mutating func markNewest(_ index: Int32, at now: Instant) {
    entries[Int(index)].linkedAt = now.nanoseconds
    guard newest != index else { return }
    unlink(index)
    appendNewest(index)
  }

  // Out of line: a refresh relinks at most once per `relinkInterval`.
  @inline(never)
  mutating func relink(_ index: Int32, at now: Instant) {
    markNewest(index, at: now)
    if isJournaling { note(index, at: now) }
  }

  /// Writes entry `index` to the journal. Out of line: it is off the frame's path.
  @inline(never)
  private mutating func note(_ index: Int32, at now: Instant) {
    journal.append(
      MACTableJournalEntry(
        key: entries[Int(index)].key, port: entries[Int(index)].port, seen: now.nanoseconds))
  }

  @inline(__always)
  private mutating func appendNewest(_ index: Int32) {
    entries[Int(index)].previous = newest
    entries[Int(index)].next = -1
    if newest >= 0 { entries[Int(newest)].next = index } else { oldest = index }
    newest = index
  }

  @inline(__always)
  private mutating func unlink(_ index: Int32) {
    let before = entries[Int(index)].previous
    let after = entries[Int(index)].next
    if before >= 0 { entries[Int(before)].next = after } else { oldest = after }
    if after >= 0 { entries[Int(after)].previous = before } else { newest = before }
    entries[Int(index)].previous = -1
    entries[Int(index)].next = -1
  }

  private mutating func insertIntoIndex(_ index: Int32) {
    var bucket = home(of: entries[Int(index)].key)
    while buckets[bucket] != 0 { bucket = (bucket + 1) & bucketMask }
    buckets[bucket] = index + 1
  }

  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  private mutating func removeFromIndex(_ index: Int32) {
    var hole = home(of: entries[Int(index)].key)
    while buckets[hole] != index + 1 { hole = (hole + 1) & bucketMask }
    buckets[hole] = 0
    var probe = hole
    while true {
      probe = (probe + 1) & bucketMask
      let bucket = buckets[probe]
      if bucket == 0 { return }
      let wanted = home(of: entries[Int(bucket - 1)].key)
      // Leave the entry if its home lies cyclically in (hole, probe].
      let staysPut =
        hole <= probe ? (hole < wanted && wanted <= probe) : (hole < wanted || wanted <= probe)
      if staysPut { continue }
      buckets[hole] = bucket
      buckets[probe] = 0
      hole = probe
    }
  }
}
