import PatchbayLab
import PatchbayTopology
import PatchbayWire
import Testing

@Suite struct QEMUInvocationTests {
  static let here = SourceLocation(file: "lab.yaml", line: 1, column: 1)
  static let paths = LabPaths(name: "lab")
  static let nic = QEMUInvocation.NIC(tap: "lab-vm1", mac: MACAddress(0x52, 0x54, 0, 1, 2, 3))

  @Test func aKernelBootUnderKVMWithVhost() {
    let vm = VMSpec(
      name: "vm1", ports: [PortReference(switchName: "core", portName: "vm1")],
      append: "quiet pb.ip=10.0.0.2/24", memory: 300 << 20, cpus: 2, location: Self.here)
    let invocation = QEMUInvocation(
      vm: vm, executable: "/usr/bin/qemu-system-x86_64", paths: Self.paths, nics: [Self.nic],
      files: ("/img/vmlinuz", "/img/initrd.img", nil, nil), accel: "kvm", vhost: true,
      user: ("patchbay", .runas))
    #expect(invocation.executable == "/usr/bin/qemu-system-x86_64")
    #expect(
      invocation.arguments == [
        "-name", "vm1,process=pb-vm1", "-nodefaults", "-no-user-config", "-display", "none",
        "-accel", "kvm",
        "-sandbox", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny",
        "-runas", "patchbay",
        "-cpu", "host,-arch-capabilities", "-m", "300M", "-smp", "2",
        "-chardev",
        "socket,id=console,path=/run/patchbay/lab/vm1.serial,server=on,wait=off,logfile=/run/patchbay/lab/vm1.console,logappend=off",
        "-serial", "chardev:console", "-qmp", "unix:/run/patchbay/lab/vm1.qmp,server=on,wait=off",
        "-kernel", "/img/vmlinuz", "-initrd", "/img/initrd.img",
        "-append", "console=ttyS0 quiet pb.ip=10.0.0.2/24",
        "-netdev", "tap,id=net0,ifname=lab-vm1,script=no,downscript=no,vhost=on",
        "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:01:02:03",
      ])
  }

  @Test func aDiskUnderTCGWithTwoNICsAndExtraArguments() {
    let vm = VMSpec(
      name: "db", ports: [], disk: "a,b.qcow2", memory: (256 << 20) + 512 << 10,
      qemuArgs: ["-snapshot", "-cpu", "max"], location: Self.here)
    let second = QEMUInvocation.NIC(tap: "lab-db2", mac: MACAddress(0x02, 0, 0, 0, 0, 2))
    let arguments = QEMUInvocation(
      vm: vm, executable: "/q", paths: Self.paths, nics: [Self.nic, second],
      files: (nil, nil, "/images/a,b.qcow2", nil), accel: "tcg", vhost: false
    ).arguments
    #expect(!arguments.contains("-cpu") || arguments.suffix(3) == ["-snapshot", "-cpu", "max"])
    #expect(arguments.firstIndex(of: "-cpu") == arguments.count - 2, "only the VM's own -cpu")
    #expect(arguments.contains("262656K"), "memory that is no whole MiB goes in KiB")
    #expect(!arguments.contains("-kernel") && !arguments.contains("-append"))
    // Commas in a path double inside QEMU's option lists.
    #expect(arguments.contains("file=/images/a,,b.qcow2,if=virtio,format=qcow2,backing="))
    #expect(arguments.contains("tap,id=net1,ifname=lab-db2,script=no,downscript=no,vhost=off"))
    #expect(arguments.contains("virtio-net-pci,netdev=net1,mac=02:00:00:00:00:02"))
    #expect(arguments.suffix(3) == ["-snapshot", "-cpu", "max"], "qemu-args come last and win")
  }

  @Test func theVMsOwnConsoleSettingIsKept() {
    let vm = VMSpec(
      name: "vm1", ports: [], kernel: "k", append: "console=tty0 console=ttyS1",
      location: Self.here)
    let arguments = QEMUInvocation(
      vm: vm, executable: "/q", paths: Self.paths, nics: [], files: ("/k", nil, nil, nil),
      accel: "tcg", vhost: false
    ).arguments
    #expect(arguments.contains("console=tty0 console=ttyS1"))
    #expect(!arguments.contains("-initrd"))
    let bare = VMSpec(name: "vm1", ports: [], kernel: "k", location: Self.here)
    #expect(
      QEMUInvocation(
        vm: bare, executable: "/q", paths: Self.paths, nics: [], files: ("/k", nil, nil, nil),
        accel: "tcg", vhost: false
      ).arguments.contains("console=ttyS0"))
  }

  /// `option` split the way QEMU splits an option list: at single commas, a
  /// doubled comma standing for one inside a value. Keys in order, with values.
  static func qemuOptions(_ option: String) -> [(key: String, value: String)] {
    var items: [String] = []
    var item = ""
    var characters = Array(option)[...]
    while let character = characters.popFirst() {
      if character == "," {
        if characters.first == "," {
          characters.removeFirst()
          item.append(",")
        } else {
          items.append(item)
          item = ""
        }
      } else {
        item.append(character)
      }
    }
    items.append(item)
    return items.map { item in
      let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
  }

  /// The value after `flag` whose text starts with `prefix`.
  static func option(_ flag: String, startingWith prefix: String, in arguments: [String]) -> String?
  {
    zip(arguments, arguments.dropFirst()).first { $0.0 == flag && $0.1.hasPrefix(prefix) }?.1
  }

  @Test func aCommaInATapNameOrAPathCannotAddAnOption() throws {
    let hostile = "/srv/a,script=/tmp/evil.sh"
    let vm = VMSpec(name: "vm1", ports: [], disk: "d.img", location: Self.here)
    let nic = QEMUInvocation.NIC(tap: "tap0,script=/tmp/evil.sh,downscript=/x", mac: Self.nic.mac)
    let paths = LabPaths(name: "a,b")
    let arguments = QEMUInvocation(
      vm: vm, executable: "/q", paths: paths, nics: [nic],
      files: (nil, nil, hostile + "/disk.img,file.locking=off", nil), accel: "tcg", vhost: false,
      consoleLog: hostile + "/console"
    ).arguments
    let netdev = Self.qemuOptions(
      try #require(Self.option("-netdev", startingWith: "tap,", in: arguments)))
    #expect(netdev.map(\.key) == ["tap", "id", "ifname", "script", "downscript", "vhost"])
    #expect(netdev.first { $0.key == "ifname" }?.value == "tap0,script=/tmp/evil.sh,downscript=/x")
    #expect(netdev.first { $0.key == "script" }?.value == "no")
    let drive = Self.qemuOptions(
      try #require(Self.option("-drive", startingWith: "file=", in: arguments)))
    #expect(drive.map(\.key) == ["file", "if", "format"])
    #expect(drive.first?.value == hostile + "/disk.img,file.locking=off")
    let chardev = Self.qemuOptions(
      try #require(Self.option("-chardev", startingWith: "socket,", in: arguments)))
    #expect(
      chardev.map(\.key) == ["socket", "id", "path", "server", "wait", "logfile", "logappend"])
    #expect(chardev.first { $0.key == "path" }?.value == "/run/patchbay/a,b/vm1.serial")
    #expect(chardev.first { $0.key == "logfile" }?.value == hostile + "/console")
    let qmp = Self.qemuOptions(
      try #require(Self.option("-qmp", startingWith: "unix:", in: arguments)))
    #expect(qmp.map(\.key) == ["unix:/run/patchbay/a,b/vm1.qmp", "server", "wait"])
  }

  @Test func theDiskFormatIsAlwaysNamedAndABackingFileOnlyTheDeclaredOne() throws {
    func drive(_ vm: VMSpec, backing: String? = nil) throws -> [(key: String, value: String)] {
      let arguments = QEMUInvocation(
        vm: vm, executable: "/q", paths: Self.paths, nics: [],
        files: (nil, nil, "/i/" + (vm.disk ?? ""), backing), accel: "tcg", vhost: false
      ).arguments
      return Self.qemuOptions(
        try #require(Self.option("-drive", startingWith: "file=", in: arguments)))
    }
    func vm(_ disk: String, format: DiskFormat? = nil) -> VMSpec {
      var vm = VMSpec(name: "vm1", ports: [], disk: disk, location: Self.here)
      vm.declaredDiskFormat = format
      return vm
    }
    // A raw image: its bytes are the guest's, and raw has no header to follow.
    #expect(try drive(vm("disk.img")).map(\.key) == ["file", "if", "format"])
    #expect(try drive(vm("disk.img")).last?.value == "raw")
    #expect(try drive(vm("disk.qcow2", format: .raw)).last?.value == "raw")
    // A qcow2 image opens with no backing file, whatever its header names.
    let plain = try drive(vm("disk.qcow2"))
    #expect(plain.map(\.key) == ["file", "if", "format", "backing"])
    #expect(plain[2].value == "qcow2" && plain[3].value == "")
    // A declared backing file opens explicitly, in its name's format, with nothing behind it.
    let layered = try drive(vm("disk.qcow2"), backing: "/i/base,1.qcow2")
    #expect(
      layered.map(\.key)
        == ["file", "if", "format", "backing.driver", "backing.file.filename", "backing.backing"])
    #expect(
      layered[3].value == "qcow2" && layered[4].value == "/i/base,1.qcow2" && layered[5].value == ""
    )
    let rawBase = try drive(vm("disk.bin", format: .qcow2), backing: "/i/base.img")
    #expect(
      rawBase.map(\.key) == ["file", "if", "format", "backing.driver", "backing.file.filename"])
    #expect(rawBase[3].value == "raw")
  }

  @Test func QEMUDropsToItsUserTheWayItsVersionSpellsIt() {
    let vm = VMSpec(name: "vm1", ports: [], kernel: "k", location: Self.here)
    func arguments(_ userSwitch: QEMUInvocation.UserSwitch?) -> [String] {
      QEMUInvocation(
        vm: vm, executable: "/q", paths: Self.paths, nics: [], files: ("/k", nil, nil, nil),
        accel: "tcg", vhost: false, user: userSwitch.map { ("patchbay", $0) }
      ).arguments
    }
    #expect(Self.option("-runas", startingWith: "", in: arguments(.runas)) == "patchbay")
    #expect(Self.option("-run-with", startingWith: "", in: arguments(.runWith)) == "user=patchbay")
    #expect(!arguments(nil).contains("-runas") && !arguments(nil).contains("-run-with"))
    #expect(
      Self.option("-sandbox", startingWith: "", in: arguments(nil))
        == "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny")
    // QEMU 7.2 (Debian 12) has -runas; 9.1 and later list -run-with's user=.
    let qemu72 = "-runas user     change to user id user just before starting the VM\n"
    let qemu91 =
      "-run-with [async-teardown=on|off][,chroot=dir][user=username|uid:gid]\n-runas user  (deprecated)\n"
    #expect(QEMUEnvironment.userSwitch(helpText: qemu72) == .runas)
    #expect(QEMUEnvironment.userSwitch(helpText: qemu91) == .runWith)
    #expect(QEMUEnvironment.userSwitch(helpText: "-sandbox on\n") == nil)
  }
}
