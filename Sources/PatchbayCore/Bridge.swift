import PatchbayWire

/// How one port of a bridge is configured.
public struct BridgePortConfiguration: Sendable, Equatable {
  /// The port's name (for display).
  public var name: String
  /// How the port treats VLANs.
  public var mode: PortVLANMode
  /// Whether the port starts up.
  public var isUp: Bool
  /// What a guest on the port may send.
  public var security: PortSecurity

  /// Makes a port configuration.
  public init(
    name: String, mode: PortVLANMode, isUp: Bool = true, security: PortSecurity = .none
  ) {
    self.name = name
    self.mode = mode
    self.isUp = isUp
    self.security = security
  }

  /// Makes an access port of `accessVLAN` (VLAN 1 unless given).
  public init(
    name: String, accessVLAN: UInt16 = 1, isUp: Bool = true, security: PortSecurity = .none
  ) {
    self.init(name: name, mode: .access(vlan: accessVLAN), isUp: isUp, security: security)
  }

  /// The VLAN of an access port; nil for trunks and tunnels.
  public var accessVLAN: UInt16? {
    if case .access(let vlan) = mode { return vlan }
    return nil
  }
}

/// A learning bridge: VLAN classification per port mode, MAC learning per VLAN,
/// aging, flooding within a VLAN, and a named, counted reason for every drop.
/// Pure: no I/O, no clock; `now` comes in.
///
/// The I/O layer calls `process(_:on:at:)` once per frame and acts on the
/// decision: send to one port, or to every port `floods(to:vlan:from:)` admits,
/// each with the framing `encapsulation(for:of:)` gives.
public struct Bridge: Sendable {
  /// The switch's name.
  public let name: String
  /// The MAC table.
  public internal(set) var table: MACTable
  /// Counters per port, indexed like the ports.
  public var counters: [PortCounters] { (0..<portCount).map { counters(of: $0) } }
  /// Port configurations, indexed by port number.
  public private(set) var ports: [BridgePortConfiguration]

  // What the per-frame path reads and counts about a port, and VLAN membership
  // (see `PortTable`).
  var portTable: PortTable
  // The counters a frame that is forwarded or flooded does not touch (transmit,
  // drops, link downs); the receive counters are in `PortState`, and
  // `counters(of:)` puts the two together.
  private var coldCounters: [PortCounters]
  // The learning limit of a port whose guard bits include `limitsLearning`.
  private var learningLimit: [Int]

  private enum Classification {
    case accepted(IngressFrame)
    case refused(DropReason)
  }

  /// Makes a bridge with `ports`, numbered from 0 in order.
  public init(
    name: String, ports: [BridgePortConfiguration], macTableSize: Int = 8192,
    macAging: Duration = .seconds(300)
  ) {
    self.name = name
    self.ports = ports
    coldCounters = Array(repeating: PortCounters(), count: ports.count)
    self.table = MACTable(capacity: macTableSize, aging: macAging, portCount: max(ports.count, 1))
    portTable = PortTable(ports)
    learningLimit = ports.map { $0.security.maximumMACs ?? .max }
  }

  /// The number of ports.
  public var portCount: Int { ports.count }

  /// The counters of `port`.
  public func counters(of port: Int) -> PortCounters {
    var merged = coldCounters[port]
    let state = portTable.states[checked(port)]
    merged.receivedPackets = state.receivedPackets
    merged.receivedBytes = state.receivedBytes
    merged.forwardedPackets = state.forwardedPackets
    merged.floodedPackets = state.floodedPackets
    return merged
  }

  /// `port`, after trapping unless it is a port of this bridge: one unsigned
  /// compare, after which `portTable` is indexed with it unchecked.
  @inline(__always)
  func checked(_ port: Int) -> Int {
    precondition(UInt(bitPattern: port) < UInt(bitPattern: portTable.count), "no such port")
    return port
  }

  /// Gives this bridge its own `portTable` before a write, if a copy shares it.
  @inline(__always)
  mutating func makePortTableUnique() {
    if !isKnownUniquelyReferenced(&portTable) { portTable = PortTable(copying: portTable) }
  }

  /// Decides what to do with `frame`, received on `ingress` at `now`.
  public mutating func receive(_ frame: UnsafeRawBufferPointer, on ingress: Int, at now: Instant)
    -> ForwardingDecision
  {
    process(frame, on: ingress, at: now).decision
  }

  /// Classifies `frame`, received on `ingress` at `now`, into a VLAN; learns its
  /// source; decides where it goes; counts it (and the drop, if dropped) on
  /// `ingress`. `ingress` in the result is meaningful unless the frame is dropped.
  @inline(__always)
  public mutating func process(_ frame: UnsafeRawBufferPointer, on port: Int, at now: Instant)
    -> (decision: ForwardingDecision, ingress: IngressFrame)
  {
    // Counted as forwarded on arrival, the common fate, next to the state read
    // below; a flood or a drop moves it (`countFlooded`, `drop`).
    makePortTableUnique()
    // Here rather than where the source is refreshed: see `MACTable.learnInPlace`.
    table.makeUnique()
    let ingressState = portTable.states + checked(port)
    ingressState.pointee.receivedPackets &+= 1
    ingressState.pointee.receivedBytes &+= UInt64(frame.count)
    ingressState.pointee.forwardedPackets &+= 1
    let dropped = IngressFrame(vlan: 0, tagControl: 0, tagType: .vlan, strippedTagLength: 0)
    let state = ingressState.pointee
    guard state.isUp else { return drop(.portDown, on: port, dropped) }
    let ethernet: EthernetFrame
    do {
      ethernet = try EthernetFrame(validating: frame)
    } catch {
      return drop(.runt, on: port, dropped)
    }
    let source = ethernet.source
    guard source.isValidSource else { return drop(.invalidSource, on: port, dropped) }
    let ingress: IngressFrame
    switch classify(ethernet, on: port, state) {
    case .accepted(let classified): ingress = classified
    case .refused(let reason): return drop(reason, on: port, dropped)
    }
    // Checked before learning, so a refused source never enters the table.
    let guarded = state.guards
    if guarded.contains(.inspects), let reason = ports[port].security.violation(in: ethernet) {
      return drop(reason, on: port, ingress)
    }
    let vlan = ingress.vlan
    let key = MACTableKey(vlan: vlan, mac: source).rawValue
    let found = table.refreshInPlace(key, on: port, at: now)
    if found != MACTable.refreshed, let reason = learnChange(key, found, on: port, at: now) {
      return drop(reason, on: port, ingress)
    }
    let destination = ethernet.destination
    if destination.isMulticast {
      if destination.isReservedGroup { return drop(.reservedGroup, on: port, ingress) }
      countFlooded(on: port)
      return (.flood(vlan: vlan), ingress)
    }
    guard let egress = table.lookup(destination, vlan: vlan, at: now) else {
      countFlooded(on: port)
      return (.flood(vlan: vlan), ingress)
    }
    if egress == port { return drop(.samePort, on: port, ingress) }
    let egressState = portTable.states[checked(egress)]
    guard egressState.isUp else { return drop(.portDown, on: port, ingress) }
    guard isMember(egress, of: vlan) else { return drop(.vlanNotAllowed, on: port, ingress) }
    if refuses(egressState, ingress) { return drop(.doubleTagged, on: port, ingress) }
    if guarded.contains(.protected) && egressState.guards.contains(.protected) {
      return drop(.protectedPort, on: port, ingress)
    }
    return (.forward(port: egress, vlan: vlan), ingress)
  }

  /// Moves an arrived frame from forwarded to flooded. Only for `process`,
  /// which made `portTable` unique before and has not copied it since.
  @inline(__always)
  private mutating func countFlooded(on port: Int) {
    portTable.states[checked(port)].forwardedPackets &-= 1
    portTable.states[port].floodedPackets &+= 1
  }

  /// Ingress classification: which VLAN a frame belongs to on this port, or why it is refused.
  @inline(__always)
  private func classify(_ frame: EthernetFrame, on port: Int, _ state: PortState)
    -> Classification
  {
    let tagged = frame.tagCount > 0
    let outer = tagged ? frame.tag(at: 0) : VLANTag(protocolID: .vlan, controlInformation: 0)
    let priorityBits = outer.controlInformation & 0xF000
    switch state.kind {
    case .access:
      // Untagged and priority-tagged frames only: accepting a tagged frame, or a
      // priority tag hiding a second tag, would let a guest hop into another VLAN.
      if frame.tagCount > 1 || (tagged && outer.vlanID != 0) {
        return .refused(.taggedOnAccessPort)
      }
      let vlan = state.vlan
      return .accepted(
        IngressFrame(
          vlan: vlan, tagControl: priorityBits | vlan, tagType: .vlan,
          strippedTagLength: tagged ? VLANTag.byteCount : 0))
    case .trunk:
      let native = state.vlan
      if tagged && outer.vlanID != 0 {
        let vlan = outer.vlanID
        guard isMember(port, of: vlan) else { return .refused(.vlanNotAllowed) }
        if vlan == native && frame.tagCount > 1 { return .refused(.doubleTagged) }
        return .accepted(
          IngressFrame(
            vlan: vlan, tagControl: outer.controlInformation, tagType: outer.protocolID,
            strippedTagLength: VLANTag.byteCount, hasInnerTag: frame.tagCount > 1))
      }
      guard native != 0 else { return .refused(.untaggedOnTrunk) }
      if frame.tagCount > 1 { return .refused(.doubleTagged) }
      return .accepted(
        IngressFrame(
          vlan: native, tagControl: priorityBits | native, tagType: .vlan,
          strippedTagLength: tagged ? VLANTag.byteCount : 0))
    case .monitor:
      return .refused(.monitorPort)
    case .tunnel:
      // The customer's frame travels whole, tag included; its priority rides on the outer tag.
      let vlan = state.vlan
      return .accepted(
        IngressFrame(
          vlan: vlan, tagControl: (tagged ? outer.controlInformation & 0xE000 : 0) | vlan,
          tagType: state.tunnelTagType, strippedTagLength: 0, hasInnerTag: tagged))
    }
  }

  /// How a frame classified as `ingress` leaves `port`: untagged on access and
  /// tunnel ports and on a trunk's untagged native VLAN; tagged (keeping the
  /// received priority and tag type) on trunks otherwise.
  @inline(__always)
  public func encapsulation(for port: Int, of ingress: IngressFrame) -> EgressEncapsulation {
    let state = portTable.states[checked(port)]
    switch state.kind {
    case .access, .tunnel, .monitor:
      return EgressEncapsulation(pushedTag: nil, skippedLength: ingress.strippedTagLength)
    case .trunk:
      if ingress.vlan == state.vlan && !state.nativeTagged {
        return EgressEncapsulation(pushedTag: nil, skippedLength: ingress.strippedTagLength)
      }
      let control = (ingress.tagControl & 0xF000) | ingress.vlan
      return EgressEncapsulation(
        pushedTag: VLANTag(protocolID: ingress.tagType, controlInformation: control),
        skippedLength: ingress.strippedTagLength)
    }
  }

  /// True when `port` must not send this frame: a trunk sending its native VLAN
  /// untagged would expose the frame's inner tag, and the wire would carry what
  /// reads as a frame of another VLAN (the double-tagging hop). Such a frame is
  /// dropped and counted as `doubleTagged`.
  @inline(__always)
  public func refusesEgress(on port: Int, of ingress: IngressFrame) -> Bool {
    refuses(portTable.states[checked(port)], ingress)
  }

  @inline(__always)
  func refuses(_ egress: PortState, _ ingress: IngressFrame) -> Bool {
    ingress.hasInnerTag && egress.kind == .trunk && ingress.vlan == egress.vlan
      && !egress.nativeTagged
  }

  /// True when a frame of `vlan` flooded from `ingress` goes out of `port`:
  /// every up port that belongs to the VLAN, never the ingress port itself,
  /// and never a protected port when the ingress port is protected too.
  @inline(__always)
  public func floods(to port: Int, vlan: UInt16, from ingress: Int) -> Bool {
    port != ingress && portTable.states[checked(port)].isUp && isMember(port, of: vlan)
      && !(portTable.states[port].guards.contains(.protected)
        && portTable.states[checked(ingress)].guards.contains(.protected))
  }

  /// The ports a frame of `vlan` from `ingress` is flooded to, in port order.
  public func floodSet(vlan: UInt16, from ingress: Int) -> [Int] {
    ports.indices.filter { floods(to: $0, vlan: vlan, from: ingress) }
  }

  /// Counts a frame of `byteCount` bytes sent out of `port`.
  @inline(__always)
  public mutating func countTransmitted(byteCount: Int, on port: Int) {
    coldCounters[port].transmittedPackets &+= 1
    coldCounters[port].transmittedBytes &+= UInt64(byteCount)
  }

  /// Counts a frame of `byteCount` bytes received on `port` and refused
  /// before the switch looked at it (a runt read, `FrameAdmission`, the ingress
  /// policer): received and dropped for `reason`, so the port's counters still
  /// add up (received = forwarded + flooded + dropped).
  @inline(never)
  public mutating func countRejected(_ reason: DropReason, byteCount: Int, on port: Int) {
    makePortTableUnique()
    portTable.states[checked(port)].receivedPackets &+= 1
    portTable.states[port].receivedBytes &+= UInt64(byteCount)
    coldCounters[port][dropped: reason] &+= 1
  }

  /// Counts a flooded frame from `port` that no port took (each copy refused
  /// on its way out): a drop (`noDestination`) instead of a flood.
  @inline(never)
  public mutating func countUndelivered(on port: Int) {
    makePortTableUnique()
    portTable.states[checked(port)].floodedPackets &-= 1
    coldCounters[port][dropped: .noDestination] &+= 1
  }

  /// Counts a frame bound out of `port` and lost there (its transmit failed,
  /// its queue was full, its interface is gone).
  @inline(__always)
  public mutating func countTransmitDrop(_ reason: DropReason, on port: Int) {
    coldCounters[port][transmitDropped: reason] &+= 1
  }

  /// Brings `port` up or down; going down forgets the addresses learned on it.
  public mutating func setPort(_ port: Int, isUp up: Bool) {
    guard portTable.states[checked(port)].isUp != up else { return }
    makePortTableUnique()
    portTable.states[port].isUp = up
    ports[port].isUp = up
    if !up {
      coldCounters[port].linkDowns &+= 1
      table.flush(port: port)
    }
  }

  /// Makes `port` a mirror's monitor port (SPAN destination): it leaves every
  /// VLAN, so nothing is flooded or forwarded to it, and what it sends is
  /// dropped and counted as `monitorPort`. Mirrored copies reach it from the
  /// I/O layer, past the switch.
  public mutating func makeMonitor(_ port: Int) {
    makePortTableUnique()
    portTable.states[checked(port)].kind = .monitor
    (portTable.memberWords + port * VLANBitmap.wordCount).update(
      repeating: 0, count: VLANBitmap.wordCount)
    table.flush(port: port)
  }

  /// True when `port` is a mirror's monitor port.
  public func isMonitor(_ port: Int) -> Bool {
    portTable.states[checked(port)].kind == .monitor
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

  // `port` must be checked (`checked(_:)`): the words are read unchecked.
  @inline(__always)
  func isMember(_ port: Int, of vlan: UInt16) -> Bool {
    portTable.memberWords[port &* VLANBitmap.wordCount &+ Int((vlan & 0x0FFF) >> 6)]
      >> UInt64(vlan & 63)
      & 1 == 1
  }

  /// Journals what the table learns, for this switch's copies on other
  /// datapath threads (`MACTable.journal`).
  public mutating func startJournaling() { table.isJournaling = true }

  /// True when the table learned something since `takeJournal` last ran.
  @inline(__always)
  public var hasJournal: Bool { !table.journal.isEmpty }

  /// Moves what the table journaled into `target`.
  public mutating func takeJournal(into target: inout [MACTableJournalEntry]) {
    table.takeJournal(into: &target)
  }

  /// Learns what another thread's copy of this switch journaled; addresses on a
  /// port that is down here are left out (they would be flushed here anyway).
  public mutating func applyLearned(_ entry: MACTableJournalEntry) {
    let port = Int(entry.port)
    guard ports.indices.contains(port), portTable.states[port].isUp else { return }
    table.applyLearned(entry)
  }

  /// Learning but for a refresh (`MACTable.learnChange`), out of line: why the
  /// frame must be dropped, if it must.
  @inline(never)
  mutating func learnChange(_ key: UInt64, _ found: Int32, on port: Int, at now: Instant)
    -> DropReason?
  {
    let limit =
      portTable.states[checked(port)].guards.contains(.limitsLearning) ? learningLimit[port] : .max
    switch table.learnChange(key, found: found, on: port, at: now, limit: limit) {
    case .staticConflict: return .staticConflict
    case .limitReached: return .macLimit
    default: return nil
    }
  }

  // Out of line on purpose: drops are the rare path, and keeping them out of
  // `process` leaves the common path fewer registers to spill.
  // It returns the whole result, so a drop site is a call and a return.
  @inline(never)
  mutating func drop(_ reason: DropReason, on port: Int, _ ingress: IngressFrame)
    -> (decision: ForwardingDecision, ingress: IngressFrame)
  {
    makePortTableUnique()
    portTable.states[checked(port)].forwardedPackets &-= 1
    coldCounters[port][dropped: reason] &+= 1
    return (.drop(reason), ingress)
  }
}
