import PatchbayCore

/// The daemon's answer: `ok` with the payload the command asked for, or `error`.
public struct ControlResponse: Codable, Sendable, Equatable {
  /// True when the command succeeded.
  public var ok: Bool
  /// Why it failed, one line.
  public var error: String?
  /// The lab's status (`status`).
  public var status: LabStatus?
  /// MAC table rows (`fdb`).
  public var fdb: [FDBRecord]?
  /// What a change did, one line (`setRate`).
  public var message: String?
  /// Each uplink's state (`nat`).
  public var uplinks: [UplinkRecord]?

  /// A success carrying `status`, `fdb`, `uplinks` and/or a `message`.
  public static func success(
    status: LabStatus? = nil, fdb: [FDBRecord]? = nil, uplinks: [UplinkRecord]? = nil,
    message: String? = nil
  ) -> ControlResponse {
    ControlResponse(
      ok: true, error: nil, status: status, fdb: fdb, message: message, uplinks: uplinks)
  }

  /// A failure saying why.
  public static func failure(_ message: String) -> ControlResponse {
    ControlResponse(ok: false, error: message, status: nil, fdb: nil, message: nil)
  }
}

/// A running lab as `patchbay status` shows it.
public struct LabStatus: Codable, Sendable, Equatable {
  /// The lab's name.
  public var name: String
  /// The daemon's pid.
  public var pid: Int32
  /// The topology file it was built from.
  public var topologyFile: String
  /// Seconds since the lab came up.
  public var uptimeSeconds: Double
  /// Its switches.
  public var switches: [SwitchStatus]
  /// Its namespace hosts.
  public var hosts: [HostStatus]
  /// Its QEMU guests.
  public var vms: [VMStatus]
  /// Its running captures (nil from a daemon that predates them).
  public var captures: [CaptureStatus]?
  /// How many datapath threads switch its frames (nil from a daemon that
  /// predates them): `datapath-threads`, or the default this machine gave.
  public var datapathThreads: Int?

  /// Makes a status value.
  public init(
    name: String, pid: Int32, topologyFile: String, uptimeSeconds: Double,
    switches: [SwitchStatus], hosts: [HostStatus], vms: [VMStatus] = [],
    captures: [CaptureStatus]? = nil, datapathThreads: Int? = nil
  ) {
    self.datapathThreads = datapathThreads
    self.name = name
    self.pid = pid
    self.topologyFile = topologyFile
    self.uptimeSeconds = uptimeSeconds
    self.switches = switches
    self.hosts = hosts
    self.vms = vms
    self.captures = captures
  }
}

/// One switch of a running lab.
public struct SwitchStatus: Codable, Sendable, Equatable {
  /// The switch's name.
  public var name: String
  /// Live MAC table entries.
  public var macCount: Int
  /// The table's learned-entry limit.
  public var macTableSize: Int
  /// The aging time in seconds.
  public var macAgingSeconds: Double
  /// Table events: learned, moved, evicted, expired, flushed.
  public var macEvents: MACEvents
  /// Its ports in topology order.
  public var ports: [PortStatus]

  /// Makes a switch status.
  public init(
    name: String, macCount: Int, macTableSize: Int, macAgingSeconds: Double,
    macEvents: MACEvents, ports: [PortStatus]
  ) {
    self.name = name
    self.macCount = macCount
    self.macTableSize = macTableSize
    self.macAgingSeconds = macAgingSeconds
    self.macEvents = macEvents
    self.ports = ports
  }
}

/// One port of a running lab, with its counters.
public struct PortStatus: Codable, Sendable, Equatable {
  /// `SWITCH/PORT`.
  public var name: String
  /// `tap`, `attach`, `uplink` or `peer`.
  public var kind: String
  /// The interface behind the port.
  public var interface: String
  /// What uses the port (`host h1`), if anything.
  public var attachedTo: String?
  /// `up` or `down`.
  public var state: String
  /// `access 1`, `trunk 10,20 native 10`, ...
  public var vlanMode: String
  /// `none`, or the limits (`ingress 100mbit egress 50mbit burst 256KiB`).
  public var rateLimit: String
  /// Bits per second received over the last second.
  public var rxBitsPerSecond: UInt64
  /// Packets per second received over the last second.
  public var rxPacketsPerSecond: UInt64
  /// Bits per second sent over the last second.
  public var txBitsPerSecond: UInt64
  /// Packets per second sent over the last second.
  public var txPacketsPerSecond: UInt64
  /// Frames waiting in the egress shaping queue.
  public var queuedFrames: Int
  /// Frames received from the port.
  public var rxPackets: UInt64
  /// Bytes received from the port.
  public var rxBytes: UInt64
  /// Frames sent to the port.
  public var txPackets: UInt64
  /// Bytes sent to the port.
  public var txBytes: UInt64
  /// Received frames sent to exactly one port.
  public var forwarded: UInt64
  /// Received frames that were flooded.
  public var flooded: UInt64
  /// Times the port went down (its interface vanished or went down).
  public var linkDowns: UInt64
  /// Received frames dropped, by reason (only non-zero reasons). With
  /// `forwarded` and `flooded` they add up to `rxPackets`.
  public var drops: DropCounts<DropReason>
  /// Frames bound out of the port and dropped there, by reason (only non-zero reasons).
  public var txDrops: DropCounts<DropReason>
  /// False for a port with `offload: false`: what leaves it is segmented and
  /// checksummed in software.
  public var offloads: Bool

  /// Makes a port status.
  public init(
    name: String, kind: String, interface: String, attachedTo: String?, state: String,
    vlanMode: String, rateLimit: String, rxPackets: UInt64, rxBytes: UInt64, txPackets: UInt64,
    txBytes: UInt64, forwarded: UInt64 = 0, flooded: UInt64, linkDowns: UInt64 = 0,
    drops: DropCounts<DropReason>, txDrops: DropCounts<DropReason> = [:],
    rxBitsPerSecond: UInt64 = 0,
    rxPacketsPerSecond: UInt64 = 0, txBitsPerSecond: UInt64 = 0,
    txPacketsPerSecond: UInt64 = 0, queuedFrames: Int = 0, offloads: Bool = true
  ) {
    self.offloads = offloads
    self.rxBitsPerSecond = rxBitsPerSecond
    self.rxPacketsPerSecond = rxPacketsPerSecond
    self.txBitsPerSecond = txBitsPerSecond
    self.txPacketsPerSecond = txPacketsPerSecond
    self.queuedFrames = queuedFrames
    self.name = name
    self.kind = kind
    self.interface = interface
    self.attachedTo = attachedTo
    self.state = state
    self.vlanMode = vlanMode
    self.rateLimit = rateLimit
    self.rxPackets = rxPackets
    self.rxBytes = rxBytes
    self.txPackets = txPackets
    self.txBytes = txBytes
    self.forwarded = forwarded
    self.flooded = flooded
    self.linkDowns = linkDowns
    self.drops = drops
    self.txDrops = txDrops
  }
}

/// One namespace host of a running lab.
public struct HostStatus: Codable, Sendable, Equatable {
  /// The host's name.
  public var name: String
  /// Its network namespace (`LAB-HOST`).
  public var namespace: String
  /// Its port, `SWITCH/PORT`.
  public var port: String
  /// Its address, if static.
  public var address: String?
  /// Its MAC.
  public var mac: String

  /// Makes a host status.
  public init(name: String, namespace: String, port: String, address: String?, mac: String) {
    self.name = name
    self.namespace = namespace
    self.port = port
    self.address = address
    self.mac = mac
  }
}

/// One QEMU guest of a running lab.
public struct VMStatus: Codable, Sendable, Equatable {
  /// The VM's name.
  public var name: String
  /// `running`, `stopping`, `exited (status N)`, `exited (signal N)` or `not started`.
  public var state: String
  /// QEMU's pid, once started.
  public var pid: Int32?
  /// Its vNICs' ports, `SWITCH/PORT`, in order.
  public var ports: [String]
  /// Its first vNIC's MAC.
  public var mac: String
  /// Where its serial console is logged.
  public var console: String

  /// Makes a VM status.
  public init(
    name: String, state: String, pid: Int32?, ports: [String], mac: String, console: String
  ) {
    self.name = name
    self.state = state
    self.pid = pid
    self.ports = ports
    self.mac = mac
    self.console = console
  }
}

/// One MAC table row.
public struct FDBRecord: Codable, Sendable, Equatable {
  /// The switch.
  public var switchName: String
  /// The VLAN.
  public var vlan: UInt16
  /// The MAC address.
  public var mac: String
  /// The port name.
  public var port: String
  /// Seconds since last seen (0 for static entries).
  public var ageSeconds: Double
  /// `learned` or `static`.
  public var type: String

  /// Makes a row.
  public init(
    switchName: String, vlan: UInt16, mac: String, port: String, ageSeconds: Double, type: String
  ) {
    self.switchName = switchName
    self.vlan = vlan
    self.mac = mac
    self.port = port
    self.ageSeconds = ageSeconds
    self.type = type
  }
}
