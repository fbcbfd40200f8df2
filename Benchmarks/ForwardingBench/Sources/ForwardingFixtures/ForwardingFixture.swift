import PatchbayCore
import PatchbayWire

/// The traffic a benchmark sends through the bridge.
public enum Scenario: Sendable, CustomStringConvertible {
  /// Eight access ports of VLAN 1, `macs` learned MACs spread over them; every frame
  /// goes from a known MAC to a known MAC on another port (a unicast forward).
  case access(macs: Int)
  /// Port 0 is a trunk of VLAN 10, ports 1–7 access ports of VLAN 10. Frames come
  /// in tagged on the trunk and leave untagged on an access port: the tag is popped.
  case trunkToAccess(macs: Int)
  /// The same switch the other way: frames come in untagged on an access port and
  /// leave tagged on the trunk: a tag is pushed.
  case accessToTrunk(macs: Int)

  /// How many learned MACs the table holds.
  public var macCount: Int {
    switch self {
    case .access(let macs), .trunkToAccess(let macs), .accessToTrunk(let macs): return macs
    }
  }

  /// True for the two VLAN scenarios, whose frames are also written out with their
  /// egress encapsulation.
  public var writesEgress: Bool {
    if case .access = self { return false }
    return true
  }

  public var description: String {
    switch self {
    case .access(let macs): return "access, \(macs) MACs"
    case .trunkToAccess(let macs): return "trunk to access (pop), \(macs) MACs"
    case .accessToTrunk(let macs): return "access to trunk (push), \(macs) MACs"
    }
  }
}

/// A deterministic pseudo-random generator (SplitMix64), so every run, and the
/// two runs `measure-instructions.sh` compares, see exactly the same frames.
struct SplitMix64 {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The state of a forwarding run, moved out of its `ForwardingFixture` while
/// frames are being sent so that the measured loop mutates a local value (as the
/// datapath does with its bridges) rather than a class property, which would add
/// an exclusivity check per frame.
public struct ForwardingRun {
  /// The bridge, its MAC table filled.
  public var bridge: Bridge
  /// The frames, `ForwardingFixture.frameStride` bytes apart.
  @usableFromInline let frames: UnsafeMutableRawPointer
  /// The ingress port of each frame.
  @usableFromInline let ingressPorts: UnsafeMutablePointer<Int>
  /// How many frames the ring holds.
  @usableFromInline let frameCount: Int
  /// Where a frame is written with its egress encapsulation.
  @usableFromInline let output: UnsafeMutableRawPointer
  /// The next frame of the ring.
  @usableFromInline var cursor: Int
  /// The clock, in nanoseconds; it advances `ForwardingFixture.timeStep` per frame.
  @usableFromInline var now: UInt64
  /// Frames per `forwardBatch()` (the fixture's `batch`).
  public let batch: Int
  /// The batch's frames, as the bridge takes them.
  @usableFromInline let views: UnsafeMutablePointer<UnsafeRawBufferPointer>
  /// The batch's decisions.
  @usableFromInline let results: UnsafeMutablePointer<BatchDecision>

  /// Decides what to do with the next frame of the ring (parse, classify into a
  /// VLAN, learn or refresh the source, look up the destination).
  @inlinable @inline(__always)
  public mutating func forwardNext() -> ForwardingDecision {
    let index = cursor
    let frame = UnsafeRawBufferPointer(
      start: frames + index &* ForwardingFixture.frameStride, count: ForwardingFixture.frameLength)
    let decision = bridge.process(
      frame, on: ingressPorts[index], at: Instant(nanoseconds: now)
    ).decision
    now &+= ForwardingFixture.timeStep
    cursor = index &+ 1 == frameCount ? 0 : index &+ 1
    return decision
  }

  /// Decides what to do with the next frame of the ring, then writes it as it
  /// leaves its egress port (tag pushed or popped) into a preallocated buffer;
  /// returns the length written (0 if it was not forwarded).
  @inlinable @inline(__always)
  public mutating func forwardAndWriteNext() -> Int {
    let index = cursor
    let frame = UnsafeRawBufferPointer(
      start: frames + index &* ForwardingFixture.frameStride, count: ForwardingFixture.frameLength)
    let (decision, ingress) = bridge.process(
      frame, on: ingressPorts[index], at: Instant(nanoseconds: now))
    now &+= ForwardingFixture.timeStep
    cursor = index &+ 1 == frameCount ? 0 : index &+ 1
    guard case .forward(let port, _) = decision else { return 0 }
    return bridge.encapsulation(for: port, of: ingress).write(frame, into: output)
  }

  /// Decides the next `batch` frames of the ring (one ingress port, as the
  /// fixture laid them out) in one call; returns the last decision.
  @inlinable @inline(__always)
  public mutating func forwardBatch() -> ForwardingDecision {
    let first = cursor
    for offset in 0..<batch {
      views[offset] = UnsafeRawBufferPointer(
        start: frames + (first &+ offset) &* ForwardingFixture.frameStride,
        count: ForwardingFixture.frameLength)
    }
    bridge.process(
      UnsafeBufferPointer(start: views, count: batch), on: ingressPorts[first],
      at: Instant(nanoseconds: now), into: results)
    now &+= ForwardingFixture.timeStep &* UInt64(batch)
    cursor = first &+ batch == frameCount ? 0 : first &+ batch
    return results[batch &- 1].decision
  }

  /// The harness alone: walks the ring and the clock as `forwardNext` does, but
  /// decides nothing (always drops). Measures the loop and the consumer.
  @inlinable @inline(__always)
  public mutating func harnessNext() -> ForwardingDecision {
    let index = cursor
    now &+= ForwardingFixture.timeStep
    cursor = index &+ 1 == frameCount ? 0 : index &+ 1
    return .drop(.noDestination)
  }
}

/// A bridge of eight ports with a MAC table filled with `scenario.macCount`
/// learned MACs, and a ring of 64-byte frames between those MACs in one
/// preallocated buffer. Building one and checking every frame's decision happens
/// before measurement.
public final class ForwardingFixture: @unchecked Sendable {
  /// Bytes per frame: a minimum-size Ethernet frame as a TAP delivers it (no FCS),
  /// carrying an IPv4/UDP header.
  public static let frameLength = 64
  /// Distance between frames in the ring (one cache line each).
  public static let frameStride = 64
  /// Ports of the bridge.
  public static let portCount = 8
  /// Nanoseconds the clock advances per frame (10 Mpps).
  public static let timeStep: UInt64 = 100
  /// Frames in the ring at least; it holds one frame per learned MAC when there are more.
  public static let minimumRingLength = 1024

  /// What the fixture sends.
  public let scenario: Scenario
  /// Frames per run of one ingress port in the ring (1: ports at random).
  public let batch: Int
  private var run: ForwardingRun?
  private let frames: UnsafeMutableRawPointer
  private let ingressPorts: UnsafeMutablePointer<Int>
  private let output: UnsafeMutableRawPointer
  private let views: UnsafeMutablePointer<UnsafeRawBufferPointer>
  private let results: UnsafeMutablePointer<BatchDecision>

  /// Builds the bridge, fills its table, builds the ring and checks that every
  /// frame of the ring is forwarded to the port its destination was learned on.
  /// With `batch` above 1 the ring comes in runs of `batch` frames from one
  /// port each (ports in turn), as a datapath reads a burst from one port, for
  /// `ForwardingRun.forwardBatch()`; its length is a multiple of `batch`.
  public init(_ scenario: Scenario, batch: Int = 1) {
    self.scenario = scenario
    self.batch = batch
    let macs = scenario.macCount
    precondition(macs >= 16 && macs % ForwardingFixture.portCount == 0)
    let vlan: UInt16
    let configurations: [BridgePortConfiguration]
    switch scenario {
    case .access:
      vlan = 1
      configurations = (0..<ForwardingFixture.portCount).map { BridgePortConfiguration(name: "p\($0)") }
    case .trunkToAccess, .accessToTrunk:
      vlan = 10
      configurations =
        [
          BridgePortConfiguration(
            name: "trunk", mode: .trunk(allowed: VLANBitmap([10]), native: nil, nativeTagged: false))
        ]
        + (1..<ForwardingFixture.portCount).map {
          BridgePortConfiguration(name: "p\($0)", accessVLAN: 10)
        }
    }
    // Aging of a year: the clock never gets there, so every entry stays live.
    var bridge = Bridge(
      name: "bench", ports: configurations, macTableSize: macs,
      macAging: .seconds(365 * 24 * 3600))
    let trunk = scenario.writesEgress

    // MAC i lives on port i % 8 (port 0 is the trunk in the VLAN scenarios).
    func mac(_ i: Int) -> MACAddress {
      // Multiplying by an odd constant modulo 2^40 is a bijection: distinct,
      // non-zero, unicast, locally administered addresses that look random.
      MACAddress(rawValue: 0x0200_0000_0000 | ((UInt64(i) &+ 1) &* 0x9E37_79B1) & 0xFF_FFFF_FFFF)
    }
    func port(of i: Int) -> Int { i % ForwardingFixture.portCount }

    // A scratch frame for learning: a broadcast from each MAC on its port.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: ForwardingFixture.frameLength, alignment: 64)
    defer { scratch.deallocate() }
    for i in 0..<macs {
      let tagged = trunk && port(of: i) == 0
      ForwardingFixture.writeFrame(
        into: scratch, destination: .broadcast, source: mac(i), vlan: tagged ? vlan : nil)
      let decision = bridge.process(
        UnsafeRawBufferPointer(start: scratch, count: ForwardingFixture.frameLength), on: port(of: i),
        at: Instant(nanoseconds: 1)
      ).decision
      precondition(decision == .flood(vlan: vlan), "learning frame \(i): \(decision)")
    }
    precondition(bridge.table.learnedCount == macs, "table holds \(bridge.table.learnedCount) MACs")

    // The ring: sources in a random order (every MAC of the kind once per pass),
    // destinations at random among the MACs on other ports.
    var random = SplitMix64(state: 0x5041_5443_4842_4159)
    let sources: [Int]
    let destinationPool: [Int]
    switch scenario {
    case .access:
      sources = Array(0..<macs)
      destinationPool = Array(0..<macs)
    case .trunkToAccess:
      sources = (0..<macs).filter { port(of: $0) == 0 }
      destinationPool = (0..<macs).filter { port(of: $0) != 0 }
    case .accessToTrunk:
      sources = (0..<macs).filter { port(of: $0) != 0 }
      destinationPool = (0..<macs).filter { port(of: $0) == 0 }
    }
    let ringLength = (max(ForwardingFixture.minimumRingLength, macs) + batch - 1) / batch * batch
    frames = .allocate(byteCount: ringLength * ForwardingFixture.frameStride, alignment: 64)
    ingressPorts = .allocate(capacity: ringLength)
    output = .allocate(byteCount: 256, alignment: 64)
    views = .allocate(capacity: batch)
    results = .allocate(capacity: batch)
    var expectedEgress: [Int] = []
    var order = sources
    // Runs of `batch` frames from one port: each port's sources, shuffled, in turn.
    var byPort = (0..<ForwardingFixture.portCount).map { wanted in
      sources.filter { port(of: $0) == wanted }
    }
    var nextOfPort = Array(repeating: 0, count: ForwardingFixture.portCount)
    var k = 0
    while k < ringLength {
      // A fresh shuffle per pass over the sources.
      for j in stride(from: order.count - 1, to: 0, by: -1) {
        order.swapAt(j, random.below(j + 1))
      }
      for unbatched in order where k < ringLength {
        var source = unbatched
        if batch > 1 {
          let run = (k / batch) % ForwardingFixture.portCount
          if nextOfPort[run] == 0 {
            for j in stride(from: byPort[run].count - 1, to: 0, by: -1) {
              byPort[run].swapAt(j, random.below(j + 1))
            }
          }
          source = byPort[run][nextOfPort[run]]
          nextOfPort[run] = (nextOfPort[run] + 1) % byPort[run].count
        }
        var pick = random.below(destinationPool.count)
        if port(of: destinationPool[pick]) == port(of: source) {
          pick = (pick + 1) % destinationPool.count  // the next MAC lives on the next port
        }
        let destination = destinationPool[pick]
        precondition(port(of: destination) != port(of: source))
        ForwardingFixture.writeFrame(
          into: frames + k * ForwardingFixture.frameStride, destination: mac(destination),
          source: mac(source), vlan: trunk && port(of: source) == 0 ? vlan : nil)
        ingressPorts[k] = port(of: source)
        expectedEgress.append(port(of: destination))
        k += 1
      }
    }

    run = ForwardingRun(
      bridge: bridge, frames: frames, ingressPorts: ingressPorts, frameCount: ringLength,
      output: output, cursor: 0, now: 1_000_000, batch: batch, views: views, results: results)

    // One pass over the ring, checked: each frame is forwarded where its
    // destination lives, and in the VLAN scenarios leaves with the tag popped
    // (60 bytes) or pushed (68 bytes). This also warms the table.
    var checking = take()
    for k in 0..<ringLength {
      let frame = UnsafeRawBufferPointer(
        start: frames + k * ForwardingFixture.frameStride, count: ForwardingFixture.frameLength)
      let (decision, ingress) = checking.bridge.process(
        frame, on: ingressPorts[k], at: Instant(nanoseconds: checking.now))
      checking.now &+= ForwardingFixture.timeStep
      precondition(
        decision == .forward(port: expectedEgress[k], vlan: vlan), "frame \(k): \(decision)")
      let length = checking.bridge.encapsulation(for: expectedEgress[k], of: ingress).write(
        frame, into: output)
      switch scenario {
      case .access: precondition(length == 64)
      case .trunkToAccess: precondition(length == 60, "popped length \(length)")
      case .accessToTrunk: precondition(length == 68, "pushed length \(length)")
      }
    }
    let statistics = checking.bridge.table.statistics
    precondition(statistics.learned == UInt64(macs) && statistics.moved == 0 && statistics.evicted == 0)
    put(checking)
  }

  deinit {
    frames.deallocate()
    ingressPorts.deallocate()
    output.deallocate()
    views.deallocate()
    results.deallocate()
  }

  /// Moves the run out of the fixture (give it back with `put`).
  public func take() -> ForwardingRun {
    guard let taken = run.take() else { preconditionFailure("run already taken") }
    return taken
  }

  /// Gives the run back.
  public func put(_ run: consuming ForwardingRun) {
    self.run = consume run
  }

  /// Writes a 64-byte frame: addresses, an optional 802.1Q tag, and an IPv4/UDP
  /// header (10.0.0.1:5000 to 10.0.0.2:5001), zero-padded.
  static func writeFrame(
    into frame: UnsafeMutableRawPointer, destination: MACAddress, source: MACAddress, vlan: UInt16?
  ) {
    let bytes = UnsafeMutableRawBufferPointer(start: frame, count: frameLength)
    bytes.initializeMemory(as: UInt8.self, repeating: 0)
    var offset = 0
    func put16(_ value: UInt16) {
      bytes[offset] = UInt8(value >> 8)
      bytes[offset + 1] = UInt8(value & 0xFF)
      offset += 2
    }
    func putMAC(_ address: MACAddress) {
      for octet in address.octets { bytes[offset] = octet; offset += 1 }
    }
    putMAC(destination)
    putMAC(source)
    if let vlan {
      put16(EtherType.vlan.rawValue)
      put16(vlan)
    }
    put16(EtherType.ipv4.rawValue)
    let ipLength = UInt16(frameLength - offset)
    let ipStart = offset
    put16(0x4500)  // version 4, IHL 5, DSCP 0
    put16(ipLength)
    put16(0)  // identification
    put16(0x4000)  // don't fragment
    put16(0x4011)  // TTL 64, UDP
    let checksumOffset = offset
    put16(0)
    put16(0x0A00); put16(0x0001)  // 10.0.0.1
    put16(0x0A00); put16(0x0002)  // 10.0.0.2
    var sum: UInt32 = 0
    for i in stride(from: ipStart, to: ipStart + 20, by: 2) {
      sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    let checksum = ~UInt16(sum)
    bytes[checksumOffset] = UInt8(checksum >> 8)
    bytes[checksumOffset + 1] = UInt8(checksum & 0xFF)
    put16(5000)
    put16(5001)
    put16(ipLength - 20)  // UDP length
    put16(0)  // no UDP checksum
  }
}
