import PatchbayWire

/// A lab machine as a network namespace named `LAB-HOST`.
public struct HostSpec: Sendable {
  /// The host's name within the lab.
  public var name: String
  /// The port whose TAP becomes the host's `eth0`; nil for a host on a veth pair.
  public var port: PortReference?
  /// For a host outside the switches (a lab's stand-in for the Internet): the
  /// name of the root-namespace end of a veth pair whose other end is its
  /// `eth0`, for an uplink's `interface` or an `attach` port.
  public var veth: String?
  /// A command started in the host when the lab is up (a server), stopped with it.
  public var run: String?
  /// Its IPv4 configuration, if any.
  public var address: AddressAssignment?
  /// Its default gateway, if any.
  public var gateway: IPv4Address?
  /// Its MAC; when nil the lab derives a stable locally-administered one.
  public var mac: MACAddress?
  /// Where the host is declared.
  public var location: SourceLocation

  /// Makes a host value.
  public init(
    name: String, port: PortReference?, veth: String? = nil, run: String? = nil,
    address: AddressAssignment? = nil, gateway: IPv4Address? = nil, mac: MACAddress? = nil,
    location: SourceLocation
  ) {
    self.name = name
    self.port = port
    self.veth = veth
    self.run = run
    self.address = address
    self.gateway = gateway
    self.mac = mac
    self.location = location
  }
}

/// A static address or DHCP.
public enum AddressAssignment: Hashable, Sendable, CustomStringConvertible {
  /// A fixed address and prefix.
  case fixed(IPv4CIDR)
  /// Ask the lab's DHCP server.
  case dhcp

  /// `10.0.0.1/24` or `dhcp`.
  public var description: String {
    switch self {
    case .fixed(let cidr): return cidr.description
    case .dhcp: return "dhcp"
    }
  }
}

/// A QEMU guest.
public struct VMSpec: Sendable {
  /// The VM's name within the lab.
  public var name: String
  /// Its vNICs, one TAP per port, in order.
  public var ports: [PortReference]
  /// Kernel image path, for direct boot.
  public var kernel: String?
  /// Initrd path, for direct boot.
  public var initrd: String?
  /// Kernel command line.
  public var append: String?
  /// Disk image path.
  public var disk: String?
  /// The disk's `format`, when the topology names it (else `diskFormat` follows the file name).
  public var declaredDiskFormat: DiskFormat?
  /// The disk's declared backing file (`backing:`, qcow2 only): the one file
  /// QEMU may open behind it. Without it a backing file is refused.
  public var backing: String?
  /// Guest memory in bytes (default 256 MiB).
  public var memory: Int
  /// Virtual CPUs (default 1).
  public var cpus: Int
  /// First vNIC's MAC, if set.
  public var mac: MACAddress?
  /// `kvm` or `tcg`, if set.
  public var accel: String?
  /// Extra QEMU arguments.
  public var qemuArgs: [String]
  /// How long `down` waits for the guest to power off after the ACPI power
  /// button before it kills QEMU (default 20 s).
  public var stopTimeout: Duration
  /// Where the VM is declared.
  public var location: SourceLocation
  /// Where each of its values is written, by key (`kernel`, `initrd`, `disk`,
  /// `accel`), so checks against the machine can point at the value.
  public var valueLocations: [String: SourceLocation] = [:]

  /// The format QEMU opens the disk with: the declared one, else the file name's.
  public var diskFormat: DiskFormat? {
    disk.map { declaredDiskFormat ?? DiskFormat(fileName: $0) }
  }

  /// The default `stop-timeout`: long enough for a distribution to shut down.
  public static let defaultStopTimeout = Duration.seconds(20)

  /// Makes a VM value.
  public init(
    name: String, ports: [PortReference], kernel: String? = nil, initrd: String? = nil,
    append: String? = nil, disk: String? = nil, memory: Int = 256 << 20, cpus: Int = 1,
    mac: MACAddress? = nil, accel: String? = nil, qemuArgs: [String] = [],
    stopTimeout: Duration = VMSpec.defaultStopTimeout, location: SourceLocation
  ) {
    self.name = name
    self.ports = ports
    self.kernel = kernel
    self.initrd = initrd
    self.append = append
    self.disk = disk
    self.memory = memory
    self.cpus = cpus
    self.mac = mac
    self.accel = accel
    self.qemuArgs = qemuArgs
    self.stopTimeout = stopTimeout
    self.location = location
  }
}
