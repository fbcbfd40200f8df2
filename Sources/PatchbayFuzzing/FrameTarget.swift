import PatchbayCore
import PatchbayWire

/// The `frame` target: frames parsed by every PatchbayWire view, then switched
/// by a bridge whose ports cover every VLAN mode, as the datapath would; every
/// frame that leaves a trunk of it crosses a patch cable into a second bridge.
///
/// The input is a sequence of records: a command byte (the ingress port, or an
/// event: a port going down or up, an aging sweep), a time step byte (tens of
/// milliseconds, against a 5 s aging time) and a length-prefixed frame. The
/// MAC table holds 64 entries, so learning evicts.
///
/// Checked on every frame: the counters add up (each received frame is
/// forwarded, flooded or dropped with a reason, exactly once); nothing goes
/// back out of its ingress port, nor out of a down or monitor port, nor out of
/// a port outside its VLAN; a learned source is found again; the two ways of
/// writing a frame out (`write` and `apply`) give the same `wireLength` bytes;
/// and the peer bridge puts a frame that crossed the cable in the VLAN it
/// left in.
public func fuzzFrames(_ bytes: UnsafeRawBufferPointer) {
  var run = FrameRun.template
  var input = FuzzInput(bytes)
  while !input.isAtEnd {
    let command = input.byte()
    run.now = run.now + .milliseconds(10 * Int(input.byte()))
    let frame = input.chunk()
    switch command {
    case 0xF0...0xF7:
      run.setPort(Int(command & 0x07), isUp: false)
    case 0xF8...0xFF:
      // Every port that 0xF0...0xF7 can take down can come back up.
      run.setPort(Int(command & 0x07), isUp: true)
    case 0xEF:
      run.expire()
    default:
      WireViews.read(frame: frame)
      run.switchFrame(frame, on: Int(command) % FrameRun.portCount)
    }
  }
  run.checkCounters()
}

extension DropReason {
  /// Drops decided after classification but before the source is learned:
  /// port security and static conflicts leave the table as it was.
  static let refusedBeforeLearning: [ForwardingDecision] = [
    .staticConflict, .macLimit, .macLocked, .ipGuard, .dhcpGuard,
  ].map { .drop($0) }
}

/// The two bridges of the `frame` target and what the harness saw them do.
private struct FrameRun: Sendable {
  /// The state every run starts from (made once: bridges are costly to build).
  static let template = FrameRun()
  static let portCount = 8
  /// The trunk on bridge A whose frames cross the patch cable to bridge B's port 0.
  static let cablePort = 6
  static let monitorPort = 5
  /// A MAC pinned to port 0 in VLAN 10: a frame from it elsewhere is a static conflict.
  static let pinned = MACAddress(0x02, 0, 0, 0, 0, 0x01)

  var bridge: Bridge
  var peer: Bridge
  var now = Instant.seconds(1)
  /// Per port of bridge A: frames forwarded and flooded, drops by reason, bytes in.
  var forwarded = [UInt64](repeating: 0, count: portCount)
  var flooded = [UInt64](repeating: 0, count: portCount)
  var dropped = [[UInt64]](
    repeating: [UInt64](repeating: 0, count: DropReason.allCases.count), count: portCount)
  var receivedBytes = [UInt64](repeating: 0, count: portCount)
  /// Scratch for frames as they leave: the largest input frame plus a pushed tag.
  var scratch = [UInt8](repeating: 0, count: Int(UInt16.max) + VLANTag.byteCount)

  private init() {
    let trunkVLANs = VLANBitmap([10, 20, 30])
    bridge = Bridge(
      name: "a",
      ports: [
        // Port security on the two access ports: both protected (they never
        // reach each other), one learning at most 3 addresses, the other
        // guarding its IPv4 source and refusing DHCP server replies.
        BridgePortConfiguration(
          name: "access10", accessVLAN: 10,
          security: PortSecurity(maximumMACs: 3, isProtected: true)),
        BridgePortConfiguration(
          name: "access20", accessVLAN: 20,
          security: PortSecurity(
            guardedAddress: IPv4Address(10, 0, 0, 1), blocksDHCPServers: true, isProtected: true)),
        BridgePortConfiguration(
          name: "trunk", mode: .trunk(allowed: trunkVLANs, native: 30, nativeTagged: false),
          security: PortSecurity(isProtected: true)),
        BridgePortConfiguration(
          name: "tagged-native",
          mode: .trunk(allowed: VLANBitmap([10, 20, 100]), native: 10, nativeTagged: true)),
        BridgePortConfiguration(
          name: "qinq", mode: .dot1qTunnel(serviceVLAN: 100, tagType: .serviceVLAN)),
        BridgePortConfiguration(name: "monitor", accessVLAN: 10),
        BridgePortConfiguration(
          name: "cable", mode: .trunk(allowed: .all, native: 1, nativeTagged: false)),
        BridgePortConfiguration(
          name: "tunnel20", mode: .dot1qTunnel(serviceVLAN: 20, tagType: .vlan)),
      ],
      macTableSize: 64, macAging: .seconds(5))
    for port in 0..<FrameRun.portCount {
      invariant(bridge.table.learnedCount(on: port) == 0, "a new table counts nothing")
    }
    bridge.makeMonitor(FrameRun.monitorPort)
    bridge.addStaticEntry(FrameRun.pinned, vlan: 10, port: 0)
    // The far end of the cable: the same trunk, so a frame keeps its VLAN across.
    peer = Bridge(
      name: "b",
      ports: [
        BridgePortConfiguration(
          name: "cable", mode: .trunk(allowed: .all, native: 1, nativeTagged: false)),
        BridgePortConfiguration(name: "access10", accessVLAN: 10),
        BridgePortConfiguration(
          name: "trunk",
          mode: .trunk(allowed: VLANBitmap([20, 100]), native: nil, nativeTagged: false)),
      ],
      macTableSize: 16, macAging: .seconds(5))
  }

  mutating func setPort(_ port: Int, isUp: Bool) {
    bridge.setPort(port, isUp: isUp)
    if !isUp {
      // Going down forgets what was learned there (static entries stay).
      for entry in bridge.table.entries(at: now) where !entry.isStatic {
        invariant(entry.port != port, "an entry learned on a down port survived")
      }
    }
  }

  mutating func expire() {
    bridge.expireEntries(at: now)
    peer.expireEntries(at: now)
    let entries = bridge.table.entries(at: now)
    invariant(entries.count <= bridge.table.count, "the snapshot lists live entries only")
    invariant(bridge.table.learnedCount <= bridge.table.capacity, "MAC table over capacity")
    for (earlier, later) in zip(entries, entries.dropFirst()) {
      invariant((earlier.vlan, earlier.mac) < (later.vlan, later.mac), "snapshot order")
    }
  }

  mutating func switchFrame(_ frame: UnsafeRawBufferPointer, on port: Int) {
    receivedBytes[port] &+= UInt64(frame.count)
    let (decision, ingress) = bridge.process(frame, on: port, at: now)
    invariant(bridge.table.learnedCount <= bridge.table.capacity, "MAC table over capacity")
    switch decision {
    case .drop(let reason):
      dropped[port][reason.rawValue] += 1
      invariant(
        ingress.vlan != 0 || DropReason.refusedBeforeClassification.contains(reason),
        "a frame dropped for \(reason) has no VLAN")
    case .forward(let egress, let vlan):
      forwarded[port] += 1
      invariant(vlan == ingress.vlan, "forwarded in another VLAN than classified")
      invariant(egress != port, "forwarded back out of its ingress port")
      invariant(bridge.ports[egress].isUp, "forwarded to a down port")
      invariant(!bridge.isMonitor(egress), "forwarded to a monitor port")
      invariant(bridge.floods(to: egress, vlan: vlan, from: port), "forwarded outside the VLAN")
      invariant(!bridge.refusesEgress(on: egress, of: ingress), "forwarded a refused frame")
      send(frame, ingress, out: egress)
    case .flood(let vlan):
      flooded[port] += 1
      invariant(vlan == ingress.vlan, "flooded in another VLAN than classified")
      invariant(!bridge.floods(to: port, vlan: vlan, from: port), "flooded back to ingress")
      for egress in 0..<bridge.portCount where bridge.floods(to: egress, vlan: vlan, from: port) {
        invariant(bridge.ports[egress].isUp, "flooded to a down port")
        invariant(!bridge.isMonitor(egress), "flooded to a monitor port")
        if bridge.refusesEgress(on: egress, of: ingress) { continue }
        send(frame, ingress, out: egress)
      }
    }
    if ingress.vlan != 0, !DropReason.refusedBeforeLearning.contains(decision), frame.count >= 12 {
      // Classified and learned: the source is found on this port.
      let source = MACAddress(unchecked: frame, at: EthernetFrame.Offset.source)
      let found = bridge.table.lookup(source, vlan: ingress.vlan, at: now)
      invariant(
        found == port || (source == FrameRun.pinned && ingress.vlan == 10 && found == 0),
        "source \(source) in VLAN \(ingress.vlan) learned on \(port) but found on \(String(describing: found))"
      )
    }
  }

  /// Writes `frame` as it leaves `egress`, both ways, and crosses the cable.
  private mutating func send(
    _ frame: UnsafeRawBufferPointer, _ ingress: IngressFrame, out egress: Int
  ) {
    let encapsulation = bridge.encapsulation(for: egress, of: ingress)
    let length = encapsulation.wireLength(ofReceived: frame.count)
    invariant(length >= EthernetFrame.headerLength, "a frame leaves shorter than a header")
    let applied = encapsulation.apply(to: frame)
    let written = scratch.withUnsafeMutableBytes { buffer in
      encapsulation.write(frame, into: buffer.baseAddress!)
    }
    invariant(written == length && applied.count == length, "wire length")
    invariant(applied.elementsEqual(scratch.prefix(length)), "write and apply disagree")
    applied.withUnsafeBytes { out in
      guard let leaving = try? EthernetFrame(validating: out) else {
        fatalError("invariant violated: a frame leaves port \(egress) unparseable")
      }
      if let tag = encapsulation.pushedTag {
        invariant(leaving.outerTag == tag, "the pushed tag is the outer tag")
        invariant(tag.vlanID == ingress.vlan, "pushed a tag of another VLAN")
      }
      if egress == FrameRun.cablePort { crossCable(out, vlan: ingress.vlan) }
    }
  }

  /// The peer bridge receives what left the cable port: same VLAN on both ends.
  private mutating func crossCable(_ frame: UnsafeRawBufferPointer, vlan: UInt16) {
    let (decision, ingress) = peer.process(frame, on: 0, at: now)
    invariant(
      ingress.vlan == vlan,
      "VLAN \(vlan) crossed the cable as \(ingress.vlan) (\(decision))")
  }

  /// Every frame received is counted once: forwarded, flooded, or dropped for a reason.
  func checkCounters() {
    for port in 0..<FrameRun.portCount {
      let counters = bridge.counters[port]
      let drops = dropped[port].reduce(0, +)
      invariant(
        counters.receivedPackets == forwarded[port] + flooded[port] + drops,
        "port \(port): received \(counters.receivedPackets) != forwarded \(forwarded[port]) + flooded \(flooded[port]) + dropped \(drops)"
      )
      invariant(counters.receivedBytes == receivedBytes[port], "port \(port): received bytes")
      invariant(counters.floodedPackets == flooded[port], "port \(port): flooded")
      invariant(counters.forwardedPackets == forwarded[port], "port \(port): forwarded")
      invariant(counters.addsUp, "port \(port): the bridge's own counters do not add up")
      for reason in DropReason.allCases {
        invariant(
          counters[dropped: reason] == dropped[port][reason.rawValue],
          "port \(port): dropped for \(reason)")
      }
    }
  }
}

extension DropReason {
  /// Reasons a frame is refused before (or while) it is put in a VLAN.
  fileprivate static let refusedBeforeClassification: Set<DropReason> = [
    .portDown, .runt, .invalidSource, .taggedOnAccessPort, .vlanNotAllowed, .untaggedOnTrunk,
    .doubleTagged, .monitorPort,
  ]
}
