import Foundation
import PatchbayTopology
import PatchbayWire

/// The QEMU command line that boots one VM of a lab. Pure: everything it
/// depends on is passed in, so each argument is tested as text.
public struct QEMUInvocation: Sendable, Equatable {
  /// The `qemu-system-*` binary, as an absolute path.
  public var executable: String
  /// The arguments after it.
  public var arguments: [String]

  /// One vNIC: the TAP that QEMU opens and the MAC the guest sees.
  public struct NIC: Sendable, Equatable {
    /// The TAP's interface name.
    public var tap: String
    /// The guest's MAC on it.
    public var mac: MACAddress

    /// Makes a vNIC.
    public init(tap: String, mac: MACAddress) {
      self.tap = tap
      self.mac = mac
    }
  }

  /// How a disk image is stored, as QEMU's `format=` names it.
  public enum DiskFormat: String, Sendable {
    /// A plain image.
    case raw
    /// QEMU's copy-on-write image.
    case qcow2
  }

  /// The command line for `vm` of the lab at `paths`.
  ///
  /// - Parameters:
  ///   - files: kernel, initrd and disk paths, already resolved against the topology file.
  ///   - accel: `kvm` or `tcg` (the VM's `accel`, or what the machine has).
  ///   - vhost: whether the kernel's vhost-net moves the vNICs' frames.
  public init(
    vm: VMSpec, executable: String, paths: LabPaths, nics: [NIC],
    files: (kernel: String?, initrd: String?, disk: String?), diskFormat: DiskFormat = .raw,
    accel: String, vhost: Bool
  ) {
    self.executable = executable
    var arguments = [
      // Every device is named below; QEMU's defaults would add a NIC on user networking.
      "-name", "\(vm.name),process=pb-\(vm.name)", "-nodefaults", "-no-user-config",
      "-display", "none", "-accel", accel,
    ]
    // KVM runs the host's CPU model; TCG emulates its default one. Without
    // arch-capabilities: under nested KVM the outer hypervisor may refuse the
    // MSR value QEMU derives for it, and QEMU aborts at the first vCPU run
    // (seen here: "failed to set MSR 0x10a"). A guest without it only assumes
    // the CPU needs every speculation mitigation. `qemu-args: [-cpu, ...]` wins.
    if accel == "kvm" { arguments += ["-cpu", "host,-arch-capabilities"] }
    arguments += ["-m", Self.memoryArgument(vm.memory), "-smp", "\(vm.cpus)"]
    // The serial console: a socket for `console -i`, its output logged to a
    // file whether or not anyone is connected.
    arguments += [
      "-chardev",
      "socket,id=console,path=\(Self.escaped(paths.consoleSocket(ofVM: vm.name))),server=on,wait=off,"
        + "logfile=\(Self.escaped(paths.console(ofVM: vm.name))),logappend=off",
      "-serial", "chardev:console",
      "-qmp", "unix:\(Self.escaped(paths.monitorSocket(ofVM: vm.name))),server=on,wait=off",
    ]
    if let kernel = files.kernel {
      arguments += ["-kernel", kernel]
      if let initrd = files.initrd { arguments += ["-initrd", initrd] }
      // The console is the serial port unless the VM says otherwise.
      let append = vm.append ?? ""
      let console = append.split(separator: " ").contains { $0.hasPrefix("console=") }
      let line = console ? [append] : ["console=ttyS0", append]
      arguments += ["-append", line.filter { !$0.isEmpty }.joined(separator: " ")]
    }
    if let disk = files.disk {
      arguments += [
        "-drive", "file=\(Self.escaped(disk)),if=virtio,format=\(diskFormat.rawValue)",
      ]
    }
    for (index, nic) in nics.enumerated() {
      arguments += [
        "-netdev",
        "tap,id=net\(index),ifname=\(nic.tap),script=no,downscript=no,vhost=\(vhost ? "on" : "off")",
        "-device", "virtio-net-pci,netdev=net\(index),mac=\(nic.mac)",
      ]
    }
    arguments += vm.qemuArgs
    self.arguments = arguments
  }

  /// `-m`'s value: whole MiB when it is, else KiB (the loader allows any size of at least 16 MiB).
  static func memoryArgument(_ bytes: Int) -> String {
    bytes % (1 << 20) == 0 ? "\(bytes >> 20)M" : "\(bytes >> 10)K"
  }

  /// A value inside QEMU's comma-separated option lists: commas double.
  static func escaped(_ value: String) -> String {
    value.replacingOccurrences(of: ",", with: ",,")
  }
}
