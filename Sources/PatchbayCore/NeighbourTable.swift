import PatchbayWire

/// A frame the router made or held, with the virtio-net header it leaves with.
public struct RouterFrame: Sendable, Hashable {
  /// True when it leaves through the physical NIC, false when it goes to the lab's switch.
  public var leavesOutside: Bool
  /// Its virtio-net header (offload state of a held frame; plain for frames the router made).
  public var header: VirtioNetHeader
  /// The Ethernet frame.
  public var bytes: [UInt8]

  /// Makes a frame.
  public init(leavesOutside: Bool, header: VirtioNetHeader = .plain, bytes: [UInt8]) {
    self.leavesOutside = leavesOutside
    self.header = header
    self.bytes = bytes
  }
}

/// The router's ARP cache for one side, with the frames that wait for an answer.
///
/// Waiting frames are copied (the slow path allocates; a resolved neighbour
/// never does): at most `perAddress` per address, as Linux's `unres_qlen`
/// keeps a few, and `total` in all. An address that has not answered within
/// `patience` gives up its frames, counted as unresolved.
///
/// Learned entries are bounded (`capacity`): any host on the physical LAN can
/// ARP for the NAT's address, so without a bound a sender walking through
/// source addresses would grow the table without limit. When it is full, the
/// least recently confirmed learned entry gives way (counted in `evicted`);
/// static entries never do and do not count against the bound.
struct NeighbourTable: Sendable {
  struct Entry: Sendable {
    var mac: MACAddress
    var confirmed: Instant
    var isStatic: Bool
    /// The entry's latest position in `recency` (learned entries only).
    var stamp: UInt64 = 0
  }

  struct Waiting: Sendable {
    var since: Instant
    var lastRequest: Instant
    var frames: [RouterFrame]
  }

  private(set) var entries: [IPv4Address: Entry] = [:]
  private(set) var waiting: [IPv4Address: Waiting] = [:]
  private var waitingCount = 0
  /// The most learned entries kept at once.
  let capacity: Int
  /// An address that never gives way (the outside side's gateway: without it,
  /// a flood of ARP from the physical LAN would push out the one neighbour
  /// every outgoing frame needs).
  var pinned: IPv4Address?
  /// Learned entries that gave way to a newer address while the table was full.
  private(set) var evicted = 0
  /// Learned entries now in `entries`.
  private(set) var learnedCount = 0
  /// Learned addresses oldest first, each with the stamp it had when it was
  /// put here; a record whose stamp no longer matches its entry is stale and
  /// skipped. Appending on every confirmation (at most one a second per
  /// address, see `learn`) and compacting when stale records pile up keeps
  /// eviction O(1) amortised without a linked list.
  private(set) var recency: [(address: IPv4Address, stamp: UInt64)] = []
  private var recencyStart = 0
  private var nextStamp: UInt64 = 1
  let perAddress = 3
  let total = 64
  /// How long an unanswered address keeps its frames.
  let patience: UInt64 = 3_000_000_000
  /// How often an unanswered address is asked again.
  let retry: UInt64 = 1_000_000_000
  /// After this long without news a learned entry is asked about again.
  let staleAfter: UInt64 = 60_000_000_000
  /// After this long without news a learned entry is forgotten.
  let forgetAfter: UInt64 = 300_000_000_000

  init(static entries: [IPv4Address: MACAddress] = [:], capacity: Int = 1024) {
    self.capacity = max(1, capacity)
    for (address, mac) in entries {
      self.entries[address] = Entry(mac: mac, confirmed: .zero, isStatic: true)
    }
  }

  @inline(__always)
  func mac(of address: IPv4Address) -> MACAddress? { entries[address]?.mac }

  /// Records that `address` is at `mac` now; returns the frames that waited for it.
  mutating func learn(_ address: IPv4Address, at mac: MACAddress, now: Instant) -> [RouterFrame] {
    if let existing = entries[address], existing.isStatic, existing.mac == mac { return [] }
    if let existing = entries[address], existing.mac == mac,
      now.nanoseconds(since: existing.confirmed) < 1_000_000_000, waiting[address] == nil
    {
      return []
    }
    if entries[address] == nil {
      if learnedCount >= capacity { evictOldest() }
      learnedCount += 1
    } else if entries[address]!.isStatic {
      learnedCount += 1
    }
    entries[address] = Entry(mac: mac, confirmed: now, isStatic: false, stamp: nextStamp)
    recency.append((address, nextStamp))
    nextStamp += 1
    compactRecencyIfStale()
    guard let held = waiting.removeValue(forKey: address) else { return [] }
    waitingCount -= held.frames.count
    return held.frames
  }

  /// Holds `frame` until `address` answers. Returns (accepted, should ask now).
  mutating func hold(_ frame: RouterFrame, for address: IPv4Address, now: Instant) -> (
    accepted: Bool, ask: Bool
  ) {
    if var held = waiting[address] {
      guard held.frames.count < perAddress, waitingCount < total else { return (false, false) }
      held.frames.append(frame)
      waiting[address] = held
      waitingCount += 1
      return (true, false)
    }
    guard waitingCount < total else { return (false, true) }
    waiting[address] = Waiting(since: now, lastRequest: now, frames: [frame])
    waitingCount += 1
    return (true, true)
  }

  /// Drops waiting frames past their patience (returned as a count) and lists
  /// the addresses to ask again: unanswered ones, and learned ones gone stale.
  mutating func sweep(at now: Instant) -> (expired: Int, ask: [IPv4Address]) {
    var expired = 0
    var ask: [IPv4Address] = []
    for (address, var held) in waiting {
      if now.nanoseconds(since: held.since) >= patience {
        expired += held.frames.count
        waitingCount -= held.frames.count
        waiting[address] = nil
      } else if now.nanoseconds(since: held.lastRequest) >= retry {
        held.lastRequest = now
        waiting[address] = held
        ask.append(address)
      }
    }
    for (address, entry) in entries where !entry.isStatic {
      let age = now.nanoseconds(since: entry.confirmed)
      if age >= forgetAfter {
        entries[address] = nil
        learnedCount -= 1
      } else if age >= staleAfter {
        ask.append(address)
      }
    }
    return (expired, ask)
  }

  /// Removes the least recently confirmed learned entry.
  private mutating func evictOldest() {
    while recencyStart < recency.count {
      let record = recency[recencyStart]
      recencyStart += 1
      if let entry = entries[record.address], !entry.isStatic, entry.stamp == record.stamp {
        if record.address == pinned && learnedCount > 1 {
          // Moved to the newest end instead; the next oldest gives way.
          entries[record.address]!.stamp = nextStamp
          recency.append((record.address, nextStamp))
          nextStamp += 1
          continue
        }
        entries[record.address] = nil
        learnedCount -= 1
        evicted += 1
        return
      }
    }
  }

  /// Drops stale and consumed records once the array holds four times as many
  /// as there are learned entries, so it stays within a small multiple of `capacity`.
  private mutating func compactRecencyIfStale() {
    guard recency.count > 4 * max(learnedCount, 16) else { return }
    recency = recency[recencyStart...].filter { record in
      entries[record.address].map { !$0.isStatic && $0.stamp == record.stamp } ?? false
    }
    recencyStart = 0
  }
}
