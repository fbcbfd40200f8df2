import Foundation
import PatchbayDatapath
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

  /// How QEMU is told to drop to an unprivileged user after opening its files.
  public enum UserSwitch: Sendable, Equatable {
    /// `-runas USER` (QEMU before 9.1; deprecated there).
    case runas
    /// `-run-with user=USER` (QEMU 9.1 and later).
    case runWith
  }

  /// QEMU's seccomp filter. `elevateprivileges=allow` because QEMU installs
  /// the filter before it drops to `-runas`'s user, and `deny` would kill it
  /// at that very setuid (QEMU 7.2: "Bad system call"); once it is that user
  /// it has no capability to regain, and `spawn=deny` forbids executing a
  /// set-uid program. Obsolete system calls, spawning processes and changing
  /// scheduling or CPU affinity are refused: a guest needs none of them.
  public static let sandbox =
    "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny"

  /// The command line for `vm` of the lab at `paths`.
  ///
  /// - Parameters:
  ///   - files: kernel, initrd, disk and the disk's declared backing file,
  ///     already resolved against the topology file. The disk opens in
  ///     `vm.diskFormat`, the backing file in the format its name implies.
  ///   - accel: `kvm` or `tcg` (the VM's `accel`, or what the machine has).
  ///   - vhost: whether the kernel's vhost-net moves the vNICs' frames.
  ///   - user: the user QEMU becomes once it has opened TAPs, files and
  ///     devices, and how this QEMU spells that; nil keeps it as it started.
  ///   - consoleLog: where QEMU writes what the guest prints on its serial
  ///     port (the daemon hands it a pipe, which it copies to the capped log).
  public init(
    vm: VMSpec, executable: String, paths: LabPaths, nics: [NIC],
    files: (kernel: String?, initrd: String?, disk: String?, backing: String?),
    accel: String, vhost: Bool, user: (name: String, switch: UserSwitch)? = nil,
    consoleLog: String? = nil
  ) {
    self.executable = executable
    var arguments = [
      // Every device is named below; QEMU's defaults would add a NIC on user networking.
      "-name", "\(Self.escaped(vm.name)),process=pb-\(vm.name)", "-nodefaults", "-no-user-config",
      "-display", "none", "-accel", accel, "-sandbox", Self.sandbox,
    ]
    if let user {
      switch user.switch {
      case .runas: arguments += ["-runas", user.name]
      case .runWith: arguments += ["-run-with", "user=\(Self.escaped(user.name))"]
      }
    }
    // KVM runs the host's CPU model; TCG emulates its default one. Without
    // arch-capabilities: under nested KVM the outer hypervisor may refuse the
    // MSR value QEMU derives for it, and QEMU aborts at the first vCPU run
    // (seen here: "failed to set MSR 0x10a"). A guest without it only assumes
    // the CPU needs every speculation mitigation. `qemu-args: [-cpu, ...]` wins.
    if accel == "kvm" { arguments += ["-cpu", "host,-arch-capabilities"] }
    arguments += ["-m", Self.memoryArgument(vm.memory), "-smp", "\(vm.cpus)"]
    // The serial console: a socket for `console -i`, its output logged
    // whether or not anyone is connected.
    let log = consoleLog ?? paths.console(ofVM: vm.name)
    arguments += [
      "-chardev",
      "socket,id=console,path=\(Self.escaped(paths.consoleSocket(ofVM: vm.name))),server=on,wait=off,"
        + "logfile=\(Self.escaped(log)),logappend=off",
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
        "-drive",
        Self.driveOption(disk: disk, format: vm.diskFormat ?? .raw, backing: files.backing),
      ]
    }
    for (index, nic) in nics.enumerated() {
      arguments += [
        "-netdev",
        "tap,id=net\(index),ifname=\(Self.escaped(nic.tap)),script=no,downscript=no,vhost=\(vhost ? "on" : "off")",
        "-device", "virtio-net-pci,netdev=net\(index),mac=\(nic.mac)",
      ]
    }
    arguments += vm.qemuArgs
    self.arguments = arguments
  }

  /// `-drive`'s value: the format always named (never probed from the image's
  /// bytes, which a guest writes). A qcow2 disk opens its declared backing
  /// file explicitly, in the format its name implies and with nothing behind
  /// it; without one it opens with `backing=` (empty), so QEMU ignores any
  /// name its header holds even if the header changed after `up` checked it.
  /// (`backing=null`, QEMU's preferred spelling, exists only in JSON; the
  /// empty string costs a deprecation warning in `VM.log`.)
  static func driveOption(disk: String, format: DiskFormat, backing: String?) -> String {
    var option = "file=\(escaped(disk)),if=virtio,format=\(format.rawValue)"
    guard format == .qcow2 else { return option }
    if let backing {
      let backingFormat = DiskFormat(fileName: backing)
      option +=
        ",backing.driver=\(backingFormat.rawValue),backing.file.filename=\(escaped(backing))"
      if backingFormat == .qcow2 { option += ",backing.backing=" }
    } else {
      option += ",backing="
    }
    return option
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
