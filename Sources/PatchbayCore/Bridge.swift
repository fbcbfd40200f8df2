import PatchbayWire

/// How one port of a bridge is configured.
public struct BridgePortConfiguration: Sendable, Hashable {
  /// The port's name (for display).
  public var name: String
  /// The VLAN untagged frames on this access port belong to.
  public var accessVLAN: UInt16
  /// Whether the port starts up.
  public var isUp: Bool

  /// Makes a port configuration: an access port of VLAN 1, up.
  public init(name: String, accessVLAN: UInt16 = 1, isUp: Bool = true) {
    self.name = name
    self.accessVLAN = accessVLAN
    self.isUp = isUp
  }
}

/// A learning bridge: MAC learning per VLAN, aging, flooding, and a named,
/// counted reason for every drop. Pure: no I/O, no clock; `now` comes in.
///
/// The I/O layer calls `receive(_:on:at:)` once per frame and acts on the
/// decision: write to one port, or to every port `floods(to:vlan:from:)` admits.
public struct Bridge: Sendable {
  /// The switch's name.
  public let name: String
  /// The MAC table.
  public private(set) var table: MACTable
  /// Counters per port, indexed like the ports.
  public private(set) var counters: [PortCounters]
  /// Port configurations, indexed by port number.
  public private(set) var ports: [BridgePortConfiguration]

  /// Makes a bridge with `ports`, numbered from 0 in order.
  public init(
    name: String, ports: [BridgePortConfiguration], macTableSize: Int = 8192,
    macAging: Duration = .seconds(300)
  ) {
    self.name = name
    self.ports = ports
    self.counters = Array(repeating: PortCounters(), count: ports.count)
    self.table = MACTable(capacity: macTableSize, aging: macAging)
  }

  /// The number of ports.
  public var portCount: Int { ports.count }

  /// Decides what to do with `frame`, received on `ingress` at `now`; learns its
  /// source and counts it (and the drop, if it is dropped) on `ingress`.
  @inline(__always)
  public mutating func receive(_ frame: UnsafeRawBufferPointer, on ingress: Int, at now: Instant)
    -> ForwardingDecision
  {
    counters[ingress].receivedPackets &+= 1
    counters[ingress].receivedBytes &+= UInt64(frame.count)
    guard ports[ingress].isUp else { return drop(.portDown, on: ingress) }
    let ethernet: EthernetFrame
    do {
      ethernet = try EthernetFrame(validating: frame)
    } catch {
      return drop(.runt, on: ingress)
    }
    let source = ethernet.source
    guard source.isValidSource else { return drop(.invalidSource, on: ingress) }
    // An access port takes untagged and priority-tagged (VLAN 0) frames only:
    // accepting a tagged frame, or a priority tag hiding a second tag behind
    // it, would let a guest hop into another VLAN.
    if ethernet.tagCount > 1 || (ethernet.tagCount == 1 && ethernet.tag(at: 0).vlanID != 0) {
      return drop(.taggedOnAccessPort, on: ingress)
    }
    let vlan = ports[ingress].accessVLAN
    if table.learn(source, vlan: vlan, on: ingress, at: now) == .staticConflict {
      return drop(.staticConflict, on: ingress)
    }
    let destination = ethernet.destination
    if destination.isMulticast {
      if destination.isReservedGroup { return drop(.reservedGroup, on: ingress) }
      counters[ingress].floodedPackets &+= 1
      return .flood(vlan: vlan)
    }
    guard let egress = table.lookup(destination, vlan: vlan, at: now) else {
      counters[ingress].floodedPackets &+= 1
      return .flood(vlan: vlan)
    }
    if egress == ingress { return drop(.samePort, on: ingress) }
    guard ports[egress].isUp else { return drop(.portDown, on: ingress) }
    return .forward(port: egress, vlan: vlan)
  }

  /// True when a frame of `vlan` flooded from `ingress` goes out of `port`:
  /// every up port of the same VLAN, never the ingress port itself.
  @inline(__always)
  public func floods(to port: Int, vlan: UInt16, from ingress: Int) -> Bool {
    port != ingress && ports[port].isUp && ports[port].accessVLAN == vlan
  }

  /// The ports a frame of `vlan` from `ingress` is flooded to, in port order.
  public func floodSet(vlan: UInt16, from ingress: Int) -> [Int] {
    ports.indices.filter { floods(to: $0, vlan: vlan, from: ingress) }
  }

  /// Counts a frame of `byteCount` bytes sent out of `port`.
  @inline(__always)
  public mutating func countTransmitted(byteCount: Int, on port: Int) {
    counters[port].transmittedPackets &+= 1
    counters[port].transmittedBytes &+= UInt64(byteCount)
  }

  /// Counts a drop the I/O layer decided (a failed transmit, a flood that reached no port).
  @inline(__always)
  public mutating func countDrop(_ reason: DropReason, on port: Int) {
    counters[port][dropped: reason] &+= 1
  }

  /// Brings `port` up or down; going down forgets the addresses learned on it.
  public mutating func setPort(_ port: Int, isUp: Bool) {
    guard ports[port].isUp != isUp else { return }
    ports[port].isUp = isUp
    if !isUp { table.flush(port: port) }
  }

  /// Pins `mac` in `vlan` to `port`; it never ages and cannot move. False if the
  /// static part of the table is full.
  @discardableResult
  public mutating func addStaticEntry(_ mac: MACAddress, vlan: UInt16 = 1, port: Int) -> Bool {
    table.addStatic(mac, vlan: vlan, port: port)
  }

  /// Sweeps out entries not seen for the aging time; returns how many went.
  @discardableResult
  public mutating func expireEntries(at now: Instant) -> Int {
    table.expire(at: now)
  }

  @inline(__always)
  private mutating func drop(_ reason: DropReason, on port: Int) -> ForwardingDecision {
    counters[port][dropped: reason] &+= 1
    return .drop(reason)
  }
}
