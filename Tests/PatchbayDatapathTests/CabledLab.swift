import PatchbayCore
import PatchbayWire

@testable import PatchbayDatapath

/// A datapath of two switches joined by an in-process patch cable, driven
/// turn by turn on a manual clock like `LoopbackLab`: no root, no thread, no sleep.
///
/// Switch A (index 0) has loopback ports 0 and 1 and the cable on port 2;
/// switch B (index 1) has the cable on port 0 and loopback ports 1 and 2.
/// Global ports, as the datapath numbers them: A's 0, 1, 2, then B's 3, 4, 5.
final class CabledLab {
  /// Switch A's cable port, and its global index.
  static let cableA = 2
  /// Switch B's cable port.
  static let cableB = 0
  /// The global index of A's cable port (rate limits, snapshots).
  static let globalCableA = 2
  /// The global index of B's cable port.
  static let globalCableB = 3

  /// Switch A's loopback ports, indexed like its ports (0 and 1).
  let a: [LoopbackPort]
  /// Switch B's loopback ports, by port: `b[0]` is port 1, `b[1]` port 2.
  let b: [LoopbackPort]
  /// The datapath, never started.
  let datapath: Datapath
  /// The manual clock: every turn runs at `now`.
  var now = Instant.seconds(100)

  /// Every port an access port in VLAN 1 unless `configureA` or `configureB`
  /// give them other modes (the whole port list, cable port included); the
  /// loopback ports whose global index is in `packetSockets` are read and
  /// written in batches.
  init(
    packetSockets: Set<Int> = [],
    configureA: (inout [BridgePortConfiguration]) -> Void = { _ in },
    configureB: (inout [BridgePortConfiguration]) -> Void = { _ in }
  ) throws {
    var portsA = ["a0", "a1", "cable"].map { BridgePortConfiguration(name: $0) }
    var portsB = ["cable", "b1", "b2"].map { BridgePortConfiguration(name: $0) }
    configureA(&portsA)
    configureB(&portsB)
    let a = try (0..<2).map { _ in try LoopbackPort() }
    let b = try (0..<2).map { _ in try LoopbackPort() }
    let ports: [DatapathPort] = [
      try a[0].datapathPort(
        switchIndex: 0, portIndex: 0, asPacketSocket: packetSockets.contains(0)),
      try a[1].datapathPort(
        switchIndex: 0, portIndex: 1, asPacketSocket: packetSockets.contains(1)),
      DatapathPort(
        switchIndex: 0, portIndex: CabledLab.cableA, peerSwitchIndex: 1,
        peerPortIndex: CabledLab.cableB),
      DatapathPort(
        switchIndex: 1, portIndex: CabledLab.cableB, peerSwitchIndex: 0,
        peerPortIndex: CabledLab.cableA),
      try b[0].datapathPort(
        switchIndex: 1, portIndex: 1, asPacketSocket: packetSockets.contains(4)),
      try b[1].datapathPort(
        switchIndex: 1, portIndex: 2, asPacketSocket: packetSockets.contains(5)),
    ]
    self.a = a
    self.b = b
    self.datapath = try Datapath(
      bridges: [
        Bridge(name: "A", ports: portsA, macTableSize: 64),
        Bridge(name: "B", ports: portsB, macTableSize: 64),
      ],
      ports: ports)
  }

  deinit { (a + b).forEach { $0.close() } }

  /// One turn of the loop at `now`.
  func turn() { datapath.runOnce(at: now) }

  /// One turn at `nanoseconds` past `base`.
  func turn(at base: Instant, plus nanoseconds: UInt64) {
    now = Instant(nanoseconds: base.nanoseconds + nanoseconds)
    turn()
  }

  /// Port `port`'s counters on switch A.
  func countersA(_ port: Int) -> PortCounters { datapath.bridges[0].counters(of: port) }

  /// Port `port`'s counters on switch B.
  func countersB(_ port: Int) -> PortCounters { datapath.bridges[1].counters(of: port) }

  /// Switch `index`'s MAC table at `now`, one "vlan mac port" line per entry.
  func table(_ index: Int) -> [String] {
    datapath.snapshot(at: now).switches[index].entries.map { "\($0.vlan) \($0.mac) \($0.port)" }
  }
}
