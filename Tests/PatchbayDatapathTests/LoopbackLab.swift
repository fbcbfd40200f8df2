import PatchbayCore
import PatchbayWire

@testable import PatchbayDatapath

/// A datapath of one switch over loopback (socket-pair) ports, driven turn by
/// turn with `runOnce(at:)` on a manual clock: no root, no thread, no sleep.
final class LoopbackLab {
  /// The ports, indexed like the switch's.
  let ports: [LoopbackPort]
  /// The datapath, never started.
  let datapath: Datapath
  /// The manual clock: every turn runs at `now`.
  var now = Instant.seconds(100)
  /// The rings of the captures `capture` added, freed with the lab.
  private var rings: [CaptureRing] = []

  /// `portCount` access ports in VLAN 1; those in `packetSockets` are read and
  /// written in batches; `acceptsOffloads[i]` false makes port `i` take no
  /// offloads; `modes[i]` replaces port `i`'s mode; `configure` edits the
  /// switch before the datapath is made.
  init(
    portCount: Int, packetSockets: Set<Int> = [], acceptsOffloads: [Bool]? = nil,
    modes: [Int: PortVLANMode] = [:], configure: (inout Bridge) -> Void = { _ in }
  ) throws {
    let ports = try (0..<portCount).map { _ in try LoopbackPort() }
    var bridge = Bridge(
      name: "sw",
      ports: (0..<portCount).map {
        BridgePortConfiguration(name: "p\($0)", mode: modes[$0] ?? .access(vlan: 1))
      }, macTableSize: 64)
    configure(&bridge)
    self.ports = ports
    self.datapath = try Datapath(
      bridges: [bridge],
      ports: ports.enumerated().map { index, port in
        try port.datapathPort(
          switchIndex: 0, portIndex: index, asPacketSocket: packetSockets.contains(index))
      },
      acceptsOffloads: acceptsOffloads)
  }

  deinit {
    ports.forEach { $0.close() }
    rings.forEach { $0.deallocate() }
  }

  /// Captures what crosses `port` in `direction` into a new ring of
  /// `capacity` bytes (tap group 1), and returns the ring.
  func capture(
    port: Int, capacity: Int = 1 << 16, interfaceID: UInt32 = 0, direction: CaptureDirection,
    filter: PacketFilter? = nil, snaplen: Int = 65_535
  ) -> CaptureRing {
    let ring = CaptureRing(capacity: capacity)
    rings.append(ring)
    datapath.addTaps(
      [
        (
          port: port,
          tap: CaptureTap(
            ring: ring, interfaceID: interfaceID, direction: direction, filter: filter,
            snaplen: snaplen)
        )
      ], group: 1)
    return ring
  }

  /// One turn of the loop at `now`.
  func turn() { datapath.runOnce(at: now) }

  /// One turn at `nanoseconds` past `base`.
  func turn(at base: Instant, plus nanoseconds: UInt64) {
    now = Instant(nanoseconds: base.nanoseconds + nanoseconds)
    turn()
  }

  /// Port `port`'s limits, rates and queued frames, from a snapshot at `now`.
  func rateState(_ port: Int) -> PortRateState { datapath.snapshot(at: now).ports[port] }

  /// Port `port`'s counters.
  func counters(_ port: Int) -> PortCounters { datapath.bridges[0].counters(of: port) }
}

/// A 60-byte (or `length`-byte) frame from MAC 02::`source` to 02::`destination`,
/// numbered `sequence` in its first two payload bytes.
func testFrame(to destination: UInt8, from source: UInt8, sequence: Int = 0, length: Int = 60)
  -> [UInt8]
{
  var frame: [UInt8] = [2, 0, 0, 0, 0, destination, 2, 0, 0, 0, 0, source, 0x88, 0xb5]
  frame += [UInt8(sequence >> 8 & 0xff), UInt8(sequence & 0xff)]
  frame += [UInt8](repeating: 0xa5, count: length - frame.count)
  return frame
}

/// The sequence number `testFrame` put in `frame`.
func sequence(of frame: [UInt8]) -> Int { Int(frame[14]) << 8 | Int(frame[15]) }
