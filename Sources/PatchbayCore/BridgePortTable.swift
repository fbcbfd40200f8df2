import PatchbayWire

// The bridge's per-port state (Bridge.swift), in its own file: the unsafe
// storage and the argument for why it is safe, in one place.
extension Bridge {
  /// A port's mode unpacked, so the per-frame path reads a few bytes instead
  /// of copying an enum with a 512-byte bitmap, next to the receive counters
  /// every frame updates: one 40-byte element, one cache line per port.
  struct PortState {
    var kind: ModeKind
    var isUp: Bool
    // Port security: one byte of `Guard` bits, so an unguarded port pays one test per frame.
    var guards: Guard
    var nativeTagged: Bool
    // Access VLAN, native VLAN (0: none) or service VLAN.
    var vlan: UInt16
    var tunnelTagType: EtherType
    var receivedPackets: UInt64 = 0
    var receivedBytes: UInt64 = 0
    var forwardedPackets: UInt64 = 0
    var floodedPackets: UInt64 = 0

    init(_ port: BridgePortConfiguration) {
      isUp = port.isUp
      guards = Guard(port.security)
      switch port.mode {
      case .access(let vlan):
        (kind, self.vlan, nativeTagged, tunnelTagType) = (.access, vlan, false, .vlan)
      case .trunk(_, let native, let tagged):
        (kind, vlan, nativeTagged, tunnelTagType) = (.trunk, native ?? 0, tagged, .vlan)
      case .dot1qTunnel(let vlan, let tagType):
        (kind, self.vlan, nativeTagged, tunnelTagType) = (.tunnel, vlan, false, tagType)
      }
    }
  }

  /// Per-port state and VLAN membership, in memory the bridge manages itself,
  /// shared by copies of the bridge until one of them writes (copy on write).
  ///
  /// Why not arrays: each read of an array element pays a bounds check, and
  /// each write a uniqueness check; one frame reads the ingress and the egress
  /// port, the membership of both, and counts. Here `process` checks the
  /// ingress port once, the egress port once, and uniqueness once.
  ///
  /// Why that is safe: every access goes through a port that `checked(_:)`
  /// proved below `count` (`states` holds `count` elements, `memberWords`
  /// `count * 64`, and a membership index adds `(vlan & 0x0FFF) >> 6`, below
  /// 64); every write comes after `makePortTableUnique()`.
  final class PortTable: @unchecked Sendable {
    // @unchecked Sendable: a PortTable is written only through a bridge that
    // holds the sole reference to it (`makePortTableUnique` copies it
    // otherwise), so no two threads ever see a write to the same PortTable.
    let count: Int
    let states: UnsafeMutablePointer<PortState>
    // VLAN membership as 64 words per port, read in place: one load per check.
    let memberWords: UnsafeMutablePointer<UInt64>

    init(_ ports: [BridgePortConfiguration]) {
      count = ports.count
      states = .allocate(capacity: count)
      for (index, port) in ports.enumerated() { (states + index).initialize(to: PortState(port)) }
      let words = ports.flatMap { $0.mode.membership.wordArray }
      memberWords = .allocate(capacity: words.count)
      for (index, word) in words.enumerated() { (memberWords + index).initialize(to: word) }
    }

    /// A copy of `other`.
    init(copying other: PortTable) {
      count = other.count
      states = .allocate(capacity: count)
      states.initialize(from: other.states, count: count)
      memberWords = .allocate(capacity: count * VLANBitmap.wordCount)
      memberWords.initialize(from: other.memberWords, count: count * VLANBitmap.wordCount)
    }

    deinit {
      // PortState and UInt64 are trivial: nothing to deinitialize.
      states.deallocate()
      memberWords.deallocate()
    }
  }

  struct Guard: OptionSet {
    let rawValue: UInt8
    /// Frames need a look (`PortSecurity.violation(in:)`).
    static let inspects = Guard(rawValue: 1)
    /// The port learns at most `learningLimit` addresses.
    static let limitsLearning = Guard(rawValue: 2)
    /// A protected port.
    static let protected = Guard(rawValue: 4)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ security: PortSecurity) {
      var bits: Guard = []
      if security.inspectsFrames { bits.insert(.inspects) }
      if security.maximumMACs != nil { bits.insert(.limitsLearning) }
      if security.isProtected { bits.insert(.protected) }
      self = bits
    }
  }

  enum ModeKind: UInt8, Sendable {
    case access, trunk, tunnel, monitor
  }
}
