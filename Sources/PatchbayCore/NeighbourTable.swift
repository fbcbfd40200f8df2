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
struct NeighbourTable: Sendable {
  struct Entry: Sendable {
    var mac: MACAddress
    var confirmed: Instant
    var isStatic: Bool
  }

  struct Waiting: Sendable {
    var since: Instant
    var lastRequest: Instant
    var frames: [RouterFrame]
  }

  private(set) var entries: [IPv4Address: Entry] = [:]
  private(set) var waiting: [IPv4Address: Waiting] = [:]
  private var waitingCount = 0
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

  init(static entries: [IPv4Address: MACAddress] = [:]) {
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
    entries[address] = Entry(mac: mac, confirmed: now, isStatic: false)
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
      } else if age >= staleAfter {
        ask.append(address)
      }
    }
    return (expired, ask)
  }
}
