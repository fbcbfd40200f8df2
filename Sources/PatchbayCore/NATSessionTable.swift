import PatchbayWire

/// A flow's lookup key: protocol, one endpoint and the other, packed in two words
/// so hashing and comparing it is cheap.
struct NATFlowKey: Hashable {
  var high: UInt64
  var low: UInt64

  /// The key of frames leaving: (transport, inside endpoint, remote as the inside addressed it).
  @inline(__always)
  static func outbound(
    _ transport: NATTransport, inside: IPv4Address, insidePort: UInt16, remote: IPv4Address,
    remotePort: UInt16
  ) -> NATFlowKey {
    NATFlowKey(
      high: UInt64(transport.rawValue) << 48 | UInt64(insidePort) << 32 | UInt64(inside.rawValue),
      low: UInt64(remotePort) << 32 | UInt64(remote.rawValue))
  }

  /// The key of frames coming back: (transport, outside port, remote endpoint).
  @inline(__always)
  static func inbound(
    _ transport: NATTransport, outsidePort: UInt16, remote: IPv4Address, remotePort: UInt16
  ) -> NATFlowKey {
    NATFlowKey(
      high: UInt64(transport.rawValue) << 48 | UInt64(outsidePort) << 32,
      low: UInt64(remotePort) << 32 | UInt64(remote.rawValue))
  }
}

/// What the table counts.
public struct NATTableStatistics: Sendable, Hashable {
  /// Sessions opened.
  public var created = 0
  /// Sessions that timed out.
  public var expired = 0
  /// Sessions evicted (the least recently used) to make room in a full table.
  public var evicted = 0
  /// New flows refused because no outside port was free for them.
  public var portsExhausted = 0

  /// All zero.
  public init() {}
}

/// The connection-tracking table: a bounded set of sessions, found by either
/// direction's key, kept in least-recently-used order so a full table gives up
/// its oldest idle session.
///
/// Sessions live in one array allocated up front; a doubly linked list of
/// indices keeps the use order and a free list the empty slots, so opening,
/// touching and closing a session allocate nothing once the dictionaries have
/// their capacity (reserved at creation).
public struct NATSessionTable: Sendable {
  /// The most sessions held at once.
  public let capacity: Int
  /// Idle timeouts.
  public let timeouts: NATTimeouts
  /// Counters.
  public private(set) var statistics = NATTableStatistics()
  private var slots: [NATSession?]
  private var previous: [Int32]
  private var next: [Int32]
  private var free: [Int32]
  // Least recently used at the head, most recently at the tail.
  private var head: Int32 = -1
  private var tail: Int32 = -1
  private var outbound: [NATFlowKey: Int32]
  private var inbound: [NATFlowKey: Int32]
  // Outside ports that belong to port forwards, never allocated to sessions.
  private var reserved: Set<UInt32>
  private var nextPort: [UInt16]

  /// The first port handed out when an inside port cannot be kept.
  public static let firstDynamicPort: UInt16 = 1024

  /// An empty table for `capacity` sessions; `reservedPorts` are (transport, port)
  /// pairs that belong to port forwards.
  public init(
    capacity: Int, timeouts: NATTimeouts = NATTimeouts(),
    reservedPorts: [(NATTransport, UInt16)] = []
  ) {
    precondition(capacity > 0, "a NAT table needs room for a session")
    self.capacity = capacity
    self.timeouts = timeouts
    slots = Array(repeating: nil, count: capacity)
    previous = Array(repeating: -1, count: capacity)
    next = Array(repeating: -1, count: capacity)
    free = (0..<Int32(capacity)).reversed()
    outbound = Dictionary(minimumCapacity: capacity)
    inbound = Dictionary(minimumCapacity: capacity)
    reserved = Set(reservedPorts.map { UInt32($0.0.rawValue) << 16 | UInt32($0.1) })
    nextPort = Array(repeating: NATSessionTable.firstDynamicPort, count: 256)
  }

  /// Sessions held now.
  public var count: Int { capacity - free.count }

  /// The session at `index`.
  public subscript(index: Int32) -> NATSession {
    get { slots[Int(index)]! }
    set { slots[Int(index)] = newValue }
  }

  /// The session a leaving frame belongs to, if any.
  @inline(__always)
  func find(outbound key: NATFlowKey) -> Int32? { outbound[key] }

  /// The session a returning frame belongs to, if any.
  @inline(__always)
  func find(inbound key: NATFlowKey) -> Int32? { inbound[key] }

  /// True when `port` of `transport` belongs to a port forward.
  @inline(__always)
  func isReserved(_ transport: NATTransport, port: UInt16) -> Bool {
    !reserved.isEmpty && reserved.contains(UInt32(transport.rawValue) << 16 | UInt32(port))
  }

  /// Opens a session for a flow from inside, keeping the inside port on the
  /// outside when it is free (as Linux's NAT does) and otherwise taking the next
  /// free one; evicts the least recently used session when the table is full.
  /// Nil when no outside port is free for this remote endpoint.
  mutating func open(
    _ transport: NATTransport, inside: IPv4Address, insidePort: UInt16, insideMAC: MACAddress,
    remote: IPv4Address, remotePort: UInt16, originalRemote: IPv4Address,
    originalRemotePort: UInt16, at now: Instant
  ) -> Int32? {
    guard
      let outsidePort = allocatePort(
        transport, preferring: insidePort, remote: remote, remotePort: remotePort)
    else {
      statistics.portsExhausted += 1
      return nil
    }
    return insert(
      NATSession(
        transport: transport, insideAddress: inside, insidePort: insidePort, insideMAC: insideMAC,
        outsidePort: outsidePort, remoteAddress: remote, remotePort: remotePort,
        originalRemoteAddress: originalRemote, originalRemotePort: originalRemotePort,
        tcpState: .synSent, hasReply: false, isForwarded: false, finMask: 0, lastUsed: now,
        expiry: now, outboundPackets: 0, outboundBytes: 0, inboundPackets: 0, inboundBytes: 0),
      at: now)
  }

  /// Opens a session for a flow from outside through a port forward.
  mutating func openForwarded(
    _ transport: NATTransport, outsidePort: UInt16, remote: IPv4Address, remotePort: UInt16,
    inside: IPv4Address, insidePort: UInt16, insideMAC: MACAddress, at now: Instant
  ) -> Int32 {
    insert(
      NATSession(
        transport: transport, insideAddress: inside, insidePort: insidePort, insideMAC: insideMAC,
        outsidePort: outsidePort, remoteAddress: remote, remotePort: remotePort,
        originalRemoteAddress: remote, originalRemotePort: remotePort, tcpState: .synSent,
        hasReply: false, isForwarded: true, finMask: 0, lastUsed: now, expiry: now,
        outboundPackets: 0, outboundBytes: 0, inboundPackets: 0, inboundBytes: 0),
      at: now)
  }

  private mutating func insert(_ session: NATSession, at now: Instant) -> Int32 {
    // A forwarded connection can have the inside endpoints of a session the
    // inside host opened to the same remote endpoint. The newer one takes the
    // flow (the host cannot tell them apart) and the older one goes, counted as
    // evicted: left in place, it would lose both their mappings when it expires.
    if let stale = outbound[outboundKey(of: session)] {
      remove(stale)
      statistics.evicted += 1
    }
    if free.isEmpty, head >= 0 {
      remove(head)
      statistics.evicted += 1
    }
    let index = free.removeLast()
    var session = session
    session.expiry =
      now
      + .seconds(Int64(timeouts.seconds(for: session.transport, state: .synSent, replied: false)))
    slots[Int(index)] = session
    outbound[outboundKey(of: session)] = index
    inbound[inboundKey(of: session)] = index
    append(index)
    statistics.created += 1
    return index
  }

  /// Stores `session` (changed by a frame) at `index`, used now: its expiry
  /// follows from its (possibly new) state, and it moves to the
  /// most-recently-used end. One write of the slot per frame.
  @inline(__always)
  mutating func store(_ session: NATSession, at index: Int32, usedAt now: Instant) {
    var session = session
    let seconds = timeouts.seconds(
      for: session.transport, state: session.tcpState, replied: session.hasReply)
    session.lastUsed = now
    session.expiry = Instant(nanoseconds: now.nanoseconds &+ seconds &* 1_000_000_000)
    slots[Int(index)] = session
    guard index != tail else { return }
    unlink(index)
    append(index)
  }

  /// Removes every session whose idle time ran out; returns how many.
  @discardableResult
  public mutating func expire(at now: Instant) -> Int {
    var removed = 0
    var index = head
    while index >= 0 {
      let following = next[Int(index)]
      if let session = slots[Int(index)], session.expiry <= now {
        remove(index)
        removed += 1
      }
      index = following
    }
    statistics.expired += removed
    return removed
  }

  /// Every live session, least recently used first.
  public var sessions: [NATSession] {
    var result: [NATSession] = []
    result.reserveCapacity(count)
    var index = head
    while index >= 0 {
      if let session = slots[Int(index)] { result.append(session) }
      index = next[Int(index)]
    }
    return result
  }

  /// Closes the session at `index`.
  mutating func remove(_ index: Int32) {
    guard let session = slots[Int(index)] else { return }
    outbound[outboundKey(of: session)] = nil
    inbound[inboundKey(of: session)] = nil
    slots[Int(index)] = nil
    unlink(index)
    free.append(index)
  }

  private func outboundKey(of session: NATSession) -> NATFlowKey {
    .outbound(
      session.transport, inside: session.insideAddress, insidePort: session.insidePort,
      remote: session.originalRemoteAddress, remotePort: session.originalRemotePort)
  }

  private func inboundKey(of session: NATSession) -> NATFlowKey {
    .inbound(
      session.transport, outsidePort: session.outsidePort, remote: session.remoteAddress,
      remotePort: session.remotePort)
  }

  /// An outside port free for (transport, remote endpoint): the preferred one
  /// if it is free and not a forward's, else the next free one above 1023.
  private mutating func allocatePort(
    _ transport: NATTransport, preferring preferred: UInt16, remote: IPv4Address,
    remotePort: UInt16
  ) -> UInt16? {
    func isFree(_ port: UInt16) -> Bool {
      !isReserved(transport, port: port)
        && inbound[.inbound(transport, outsidePort: port, remote: remote, remotePort: remotePort)]
          == nil
    }
    // ICMP identifiers have no privileged range; ports below 1024 are kept
    // only when the inside used them (as Linux keeps them).
    if (preferred != 0 || transport == .icmp) && isFree(preferred) { return preferred }
    let first = transport == .icmp ? UInt16(1) : NATSessionTable.firstDynamicPort
    let span = Int(UInt16.max - first) + 1
    var candidate = max(nextPort[Int(transport.rawValue)], first)
    for _ in 0..<span {
      let port = candidate
      candidate = candidate == UInt16.max ? first : candidate + 1
      if isFree(port) {
        nextPort[Int(transport.rawValue)] = candidate
        return port
      }
    }
    return nil
  }

  private mutating func append(_ index: Int32) {
    previous[Int(index)] = tail
    next[Int(index)] = -1
    if tail >= 0 { next[Int(tail)] = index } else { head = index }
    tail = index
  }

  private mutating func unlink(_ index: Int32) {
    let before = previous[Int(index)]
    let after = next[Int(index)]
    if before >= 0 { next[Int(before)] = after } else { head = after }
    if after >= 0 { previous[Int(after)] = before } else { tail = before }
    previous[Int(index)] = -1
    next[Int(index)] = -1
  }
}
