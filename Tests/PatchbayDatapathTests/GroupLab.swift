import PatchbayCore
import PatchbayWire

@testable import PatchbayDatapath

/// A group of datapath threads over one switch of access ports in VLAN 1,
/// each thread with its own loopback (socket-pair) end of every port, as each
/// has its own queue of a multi-queue TAP: a frame injected on
/// `queues[t][p]` arrives on port `p` at thread `t`, and what thread `t`
/// sends out of port `p` comes out there. Driven turn by turn on a manual
/// clock (`turn()`), or started as real threads.
final class GroupLab {
  /// `queues[thread][port]`.
  let queues: [[LoopbackPort]]
  /// The group.
  let group: DatapathGroup
  /// The manual clock.
  var now = Instant.seconds(100)

  /// `threads` threads over `portCount` ports; `configure` edits the switch first.
  init(threads: Int, portCount: Int, configure: (inout Bridge) -> Void = { _ in }) throws {
    var bridge = Bridge(
      name: "sw",
      ports: (0..<portCount).map {
        BridgePortConfiguration(name: "p\($0)", mode: .access(vlan: 1))
      }, macTableSize: 4096)
    configure(&bridge)
    let queues = try (0..<threads).map { _ in try (0..<portCount).map { _ in try LoopbackPort() } }
    self.queues = queues
    let workers = try queues.map { ports in
      try Datapath(
        bridges: [bridge],
        ports: ports.enumerated().map { index, port in
          try port.datapathPort(switchIndex: 0, portIndex: index)
        })
    }
    group = DatapathGroup(workers: workers)
  }

  deinit { queues.joined().forEach { $0.close() } }

  /// One turn of every thread at `now`, the owner last, so what the others
  /// handed over in this turn is served in it.
  func turn() {
    for worker in group.workers.reversed() { worker.runOnce(at: now) }
  }

  /// Frames that came out of `port` on every thread, thread by thread.
  func received(on port: Int) -> [[UInt8]] {
    queues.flatMap { $0[port].receiveAll() }
  }
}
