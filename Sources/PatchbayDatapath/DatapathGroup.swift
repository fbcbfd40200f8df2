import Glibc
import PatchbayCore
import Synchronization

/// The lab's datapath threads: one `Datapath` per thread, each with every
/// switch and its own descriptor of every port (a queue of each multi-queue
/// TAP, a packet socket in each port's fanout group), so the kernel spreads
/// flows over the threads and each flow stays on one, in order.
///
/// Thread 0, the owner, runs the NAT routers and serves every port with a rate
/// limit or a capture: those need one place (a NAT session, a limit in total,
/// a capture in time order), and the other threads hand it their frames for
/// such ports (Datapath+Workers.swift). Learned addresses travel between the
/// threads' copies of each switch once per turn. The control plane talks to
/// the group as to one datapath: commands that change state run on every
/// thread, a snapshot joins them.
public final class DatapathGroup: @unchecked Sendable {
  // Sendable: `workers` never changes after init, each worker is driven
  // through its own `perform`, and the pins are behind a Mutex.

  /// The threads' datapaths, the owner first.
  public let workers: [Datapath]
  private let rings: [HandoffRing]
  // Why each port is served on the owner: a rate limit, or capture groups.
  private let pins = Mutex<(limited: Set<Int>, tapped: [Int: [Int]])>(([], [:]))

  /// The owner: the thread with the routers and the pinned ports.
  public var owner: Datapath { workers[0] }

  /// Joins `workers` (the owner first), each made over the same bridges and
  /// ports in the same order, its own descriptors; `fanoutGroups[i]` is
  /// packet-socket port `i`'s fanout group (0: none).
  public init(workers: [Datapath], fanoutGroups: [Int32] = []) {
    precondition(!workers.isEmpty, "a datapath group has a thread")
    self.workers = workers
    let rings = workers.dropFirst().map { _ in HandoffRing(capacity: 4 << 20) }
    self.rings = rings
    guard workers.count > 1 else { return }
    let inboxes = workers.map { _ in LearnInbox() }
    for (index, worker) in workers.enumerated() {
      var links = WorkerLinks()
      links.isActive = true
      links.index = index
      links.inboxes = inboxes
      links.fanoutGroups =
        fanoutGroups.isEmpty
        ? Array(repeating: 0, count: worker.ports.count) : fanoutGroups
      if index == 0 {
        links.inbound = rings
      } else {
        links.handoff = rings[index - 1]
        links.ownerWakeup = workers[0].wakeup
      }
      worker.workers = links
      for bridge in worker.bridges.indices { worker.bridges[bridge].startJournaling() }
      for (global, port) in worker.ports.enumerated() where port.kind == .router {
        worker.setHandsOff(true, port: global)
      }
    }
  }

  deinit { for ring in rings { ring.deallocate() } }

  /// Starts every thread.
  public func start() { for worker in workers { worker.start() } }

  /// Stops every thread, each after its current batch.
  public func stop() { for worker in workers { worker.stop() } }

  /// Runs `body` on the owner's thread between batches.
  public func perform<Result>(_ body: @escaping @Sendable (Datapath) -> Result) -> Result {
    owner.perform(body)
  }

  /// Runs `body` on every thread, one after another; their results, the owner's first.
  public func performOnEach<Result>(_ body: @escaping @Sendable (Datapath) -> Result) -> [Result] {
    workers.map { $0.perform(body) }
  }

  /// Sets `global`'s limits on the owner, and has the other threads hand it the
  /// port's frames while either direction is limited, so the limit holds in total.
  public func setRateLimits(
    port global: Int, ingress: RateLimit?, egress: RateLimit?,
    at now: Instant = MonotonicClock.now()
  ) {
    let isLimited =
      ingress.map { !$0.isUnlimited } == true || egress.map { !$0.isUnlimited } == true
    let changed = pins.withLock { pins in
      isLimited ? pins.limited.insert(global).inserted : pins.limited.remove(global) != nil
    }
    // Pinned before the limit applies, unpinned after it is lifted.
    if changed && isLimited { repin([global]) }
    owner.setRateLimits(port: global, ingress: ingress, egress: egress, at: now)
    if changed && !isLimited { repin([global]) }
  }

  /// Adds a capture's or mirror's taps on the owner, its ports served there first.
  public func addTaps(_ entries: [(port: Int, tap: CaptureTap)], group: Int) {
    pins.withLock { $0.tapped[group] = entries.map(\.port) }
    repin(entries.map(\.port))
    owner.addTaps(entries, group: group)
  }

  /// Removes `group`'s taps; its ports go back to every thread after.
  public func removeTaps(group: Int) {
    owner.removeTaps(group: group)
    let ports = pins.withLock { $0.tapped.removeValue(forKey: group) } ?? []
    repin(ports)
  }

  /// Takes packet-socket port `global` down on every thread (`Datapath.holdDown`).
  public func holdDown(port global: Int) {
    for worker in workers { worker.holdDown(port: global) }
  }

  /// The owner's port events (every thread sees each one) and every port's counters, joined.
  public func activity() -> DatapathActivity {
    var activity = owner.activity()
    for worker in workers.dropFirst() {
      let other = worker.activity()
      for (switchIndex, counters) in other.counters.enumerated() {
        for port in counters.indices { activity.counters[switchIndex][port].merge(counters[port]) }
      }
    }
    return activity
  }

  /// Every thread's state joined (`DatapathSnapshot.merge`).
  public func snapshot() -> DatapathSnapshot {
    var snapshot = owner.snapshot()
    for worker in workers.dropFirst() { snapshot.merge(worker.snapshot()) }
    return snapshot
  }

  /// The same at `now`, for threads driven by hand (`Datapath.runOnce(at:)`).
  func snapshot(at now: Instant) -> DatapathSnapshot {
    var snapshot = owner.snapshot(at: now)
    for worker in workers.dropFirst() { snapshot.merge(worker.snapshot(at: now)) }
    return snapshot
  }

  /// Tells every thread whether each of `ports` is served on the owner now.
  private func repin(_ ports: [Int]) {
    let (limited, tapped) = pins.withLock { ($0.limited, Set($0.tapped.values.joined())) }
    let states = ports.map { ($0, limited.contains($0) || tapped.contains($0)) }
    for worker in workers.dropFirst() {
      worker.perform { datapath in
        for (port, pinned) in states where datapath.ports[port].kind != .router {
          datapath.setHandsOff(pinned, port: port)
        }
      }
    }
  }
}

extension DatapathSnapshot {
  /// Joins another thread's snapshot of the same lab: counters, rates and
  /// table events summed; the MAC table, limits and NAT state the owner's
  /// (this one). The owner's copy of a table holds what every thread learned
  /// up to their last turn, within the table's size, where a union of the
  /// copies could hold more addresses than the table does.
  public mutating func merge(_ other: DatapathSnapshot) {
    for index in switches.indices {
      let theirs = other.switches[index]
      for port in switches[index].counters.indices {
        switches[index].counters[port].merge(theirs.counters[port])
      }
      switches[index].statistics.merge(theirs.statistics)
    }
    for index in ports.indices { ports[index].rates.merge(other.ports[index].rates) }
  }
}
