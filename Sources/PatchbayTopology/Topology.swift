import PatchbayCore
import PatchbayWire

/// A validated lab description: what `patchbay up` builds.
///
/// Produced only by `TopologyLoader`, which guarantees every cross-reference
/// (ports named by hosts, VMs, peers, uplinks, captures and mirrors) resolves
/// and every name fits its kernel limit.
public struct Topology: Sendable {
  /// The lab name: `[a-z0-9-]`, at most 10 characters.
  public var name: String
  /// The file the topology was read from, as given on the command line.
  public var sourcePath: String
  /// Switches in file order.
  public var switches: [SwitchSpec]
  /// Namespace hosts in file order.
  public var hosts: [HostSpec]
  /// QEMU guests in file order.
  public var vms: [VMSpec]
  /// Uplinks in file order.
  public var uplinks: [UplinkSpec]
  /// Captures declared in the file.
  public var captures: [CaptureSpec]
  /// SPAN mirrors declared in the file.
  public var mirrors: [MirrorSpec]
  /// How long the datapath keeps polling after a frame before it sleeps
  /// (`busy-poll`): this long, or with `adaptsBusyPoll` a window it learns of
  /// at most this (`auto`, the default).
  public var busyPoll: Duration
  /// `busy-poll: auto`: the window is learned from how soon the next frame comes.
  public var adaptsBusyPoll: Bool
  /// The most bytes each VM console log and host log keeps in the lab's state
  /// directory (`log-cap`, default 16 MiB), besides one rotated `.1` file of
  /// as much: both live in /run, in RAM.
  public var logCap: Int
  /// How many datapath threads switch the lab's frames (`datapath-threads`);
  /// nil: one per core, at most one per port that moves frames.
  public var datapathThreads: Int?

  /// The longest window `busy-poll: auto` learns, which is the default:
  /// about twice the time a namespace host takes to answer a frame, so a
  /// request's answer finds the datapath awake (a round trip here: about 50 µs
  /// sleeping, 12 µs polling), and an idle lab, which has no frames to poll
  /// after, sleeps. (A fixed window keeps a core busy in a lab whose traffic
  /// never pauses for it: the soak test's daemon used 0.09 of a core sleeping,
  /// 0.77 polling 10 ms.)
  public static let defaultBusyPoll = Duration.microseconds(200)
  /// The longest `busy-poll` a topology may ask for.
  public static let maximumBusyPoll = Duration.seconds(1)
  /// The default `log-cap`: a console's worth of boots and then some, small
  /// beside the RAM a VM takes.
  public static let defaultLogCap = 16 << 20
  /// The `log-cap` values a topology may ask for.
  public static let logCaps: ClosedRange<UInt64> = 4096...(1 << 30)
  /// The `datapath-threads` values a topology may ask for.
  public static let datapathThreadCounts: ClosedRange<Int> = 1...64

  /// Makes a topology value (the loader is the normal way to get one).
  public init(
    name: String, sourcePath: String, switches: [SwitchSpec], hosts: [HostSpec] = [],
    vms: [VMSpec] = [], uplinks: [UplinkSpec] = [], captures: [CaptureSpec] = [],
    mirrors: [MirrorSpec] = [], busyPoll: Duration = Topology.defaultBusyPoll,
    adaptsBusyPoll: Bool = true, logCap: Int = Topology.defaultLogCap,
    datapathThreads: Int? = nil
  ) {
    self.name = name
    self.sourcePath = sourcePath
    self.switches = switches
    self.hosts = hosts
    self.vms = vms
    self.uplinks = uplinks
    self.captures = captures
    self.mirrors = mirrors
    self.busyPoll = busyPoll
    self.adaptsBusyPoll = adaptsBusyPoll
    self.logCap = logCap
    self.datapathThreads = datapathThreads
  }

  /// The switch named `name`, if any.
  public func switchSpec(named name: String) -> SwitchSpec? {
    switches.first { $0.name == name }
  }

  /// The port `reference` names, if any.
  public func port(_ reference: PortReference) -> PortSpec? {
    switchSpec(named: reference.switchName)?.ports.first { $0.name == reference.portName }
  }

  /// The VM one of whose vNICs is `reference`, if any.
  public func vm(on reference: PortReference) -> VMSpec? {
    vms.first { $0.ports.contains(reference) }
  }

  /// The host whose NIC is `reference`, if any.
  public func host(on reference: PortReference) -> HostSpec? {
    hosts.first { $0.port == reference }
  }
}

/// A place in a topology file, 1-based.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The file as named on the command line.
  public var file: String
  /// 1-based line.
  public var line: Int
  /// 1-based column.
  public var column: Int

  /// Makes a location.
  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  /// `FILE:LINE:COL`.
  public var description: String { "\(file):\(line):\(column)" }

  /// Orders by file, then line, then column.
  public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
    (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
  }
}

/// One problem in a topology file.
public struct TopologyDiagnostic: Hashable, Sendable, CustomStringConvertible {
  /// Where the problem is.
  public var location: SourceLocation
  /// What is wrong, starting lower case, no trailing period.
  public var message: String

  /// Makes a diagnostic.
  public init(location: SourceLocation, message: String) {
    self.location = location
    self.message = message
  }

  /// `FILE:LINE:COL: error: message`.
  public var description: String { "\(location): error: \(message)" }
}

/// Every problem found in a topology file, in file order.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
  /// The problems, sorted by location.
  public var diagnostics: [TopologyDiagnostic]

  /// Makes an error from problems (sorted by location here).
  public init(diagnostics: [TopologyDiagnostic]) {
    self.diagnostics = diagnostics.sorted { $0.location < $1.location }
  }

  /// One `FILE:LINE:COL: error: message` line per problem.
  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// `SWITCH/PORT`.
public struct PortReference: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The switch's name.
  public var switchName: String
  /// The port's name within the switch.
  public var portName: String

  /// Makes a reference.
  public init(switchName: String, portName: String) {
    self.switchName = switchName
    self.portName = portName
  }

  /// Parses `SWITCH/PORT`; nil unless exactly one `/` separates two non-empty names.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    self.init(switchName: String(parts[0]), portName: String(parts[1]))
  }

  /// `SWITCH/PORT`.
  public var description: String { "\(switchName)/\(portName)" }

  /// Orders by switch, then port name.
  public static func < (lhs: PortReference, rhs: PortReference) -> Bool {
    (lhs.switchName, lhs.portName) < (rhs.switchName, rhs.portName)
  }
}
