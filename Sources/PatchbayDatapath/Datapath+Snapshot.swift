import PatchbayCore

/// A copy of one switch's state, taken on the datapath thread.
public struct SwitchSnapshot: Sendable {
  /// The switch's name.
  public var name: String
  /// Per-port counters.
  public var counters: [PortCounters]
  /// Per-port state.
  public var portIsUp: [Bool]
  /// Live MAC table entries.
  public var entries: [MACTableEntry]
  /// MAC table events.
  public var statistics: MACTableStatistics
  /// The table's learned-entry limit.
  public var capacity: Int
  /// The table's aging time in nanoseconds.
  public var agingNanoseconds: UInt64
}

/// Everything `status`, `fdb` and `nat` report, copied in one turn of the
/// datapath thread at one instant: counters, rates, limits, tables and NAT
/// state all describe the same moment.
public struct DatapathSnapshot: Sendable {
  /// Each switch's counters and MAC table, in switch order.
  public var switches: [SwitchSnapshot]
  /// Each port's limits, rates and queues, indexed like the datapath's ports
  /// (switch by switch, port by port).
  public var ports: [PortRateState]
  /// Each NAT uplink's sessions, leases and counters.
  public var uplinks: [UplinkSnapshot]
  /// When it was taken, on the datapath's clock.
  public var now: Instant
}

extension Datapath {
  /// Copies the whole datapath state between batches, in one round trip to its thread.
  public func snapshot() -> DatapathSnapshot {
    perform { datapath in datapath.snapshot(at: MonotonicClock.now()) }
  }

  /// The state at `now`; call it on the datapath thread (or before it starts).
  func snapshot(at now: Instant) -> DatapathSnapshot {
    let switches = bridges.map { bridge in
      SwitchSnapshot(
        name: bridge.name, counters: bridge.counters.map { $0 },
        portIsUp: bridge.ports.map(\.isUp), entries: bridge.table.entries(at: now),
        statistics: bridge.table.statistics, capacity: bridge.table.capacity,
        agingNanoseconds: bridge.table.agingNanoseconds)
    }
    let ports = self.ports.indices.map { rateState(of: $0) }
    let uplinks = routers.indices.map { uplinkSnapshot($0, at: now) }
    return DatapathSnapshot(switches: switches, ports: ports, uplinks: uplinks, now: now)
  }

  /// Port `global`'s limits, rates and queued frames.
  func rateState(of global: Int) -> PortRateState {
    PortRateState(
      ingress: ingressQueues[global]?.shaper.policer.limit,
      egress: egressQueues[global]?.shaper.policer.limit,
      rates: meters[global].rates,
      queuedFrames: (ingressQueues[global]?.shaper.queuedFrames ?? 0)
        + (egressQueues[global]?.shaper.queuedFrames ?? 0))
  }

  /// NAT uplink `index`'s sessions, leases and counters at `now`.
  func uplinkSnapshot(_ index: Int, at now: Instant) -> UplinkSnapshot {
    let router = routers[index]
    let uplink = uplinks[index]
    return UplinkSnapshot(
      name: uplink.name, interface: uplink.interface, configuration: router.configuration,
      sessions: router.sessions,
      table: router.table.statistics, capacity: router.table.capacity,
      statistics: router.statistics, neighbours: router.neighbourStatistics,
      leases: router.leases(at: now),
      dhcp: router.dhcpServer?.statistics, nic: uplink.nic, now: now)
  }
}
