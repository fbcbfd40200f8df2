import PatchbayIO
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
      files: ("/img/vmlinuz", "/img/initrd.img", nil), accel: "kvm", vhost: true)
    #expect(invocation.executable == "/usr/bin/qemu-system-x86_64")
    #expect(
      invocation.arguments == [
        "-name", "vm1,process=pb-vm1", "-nodefaults", "-no-user-config", "-display", "none",
        "-accel", "kvm", "-cpu", "host,-arch-capabilities", "-m", "300M", "-smp", "2",
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
      name: "db", ports: [], disk: "x", memory: (256 << 20) + 512 << 10,
      qemuArgs: ["-snapshot", "-cpu", "max"], location: Self.here)
    let second = QEMUInvocation.NIC(tap: "lab-db2", mac: MACAddress(0x02, 0, 0, 0, 0, 2))
    let arguments = QEMUInvocation(
      vm: vm, executable: "/q", paths: Self.paths, nics: [Self.nic, second],
      files: (nil, nil, "/images/a,b.qcow2"), diskFormat: .qcow2, accel: "tcg", vhost: false
    ).arguments
    #expect(!arguments.contains("-cpu") || arguments.suffix(3) == ["-snapshot", "-cpu", "max"])
    #expect(arguments.firstIndex(of: "-cpu") == arguments.count - 2, "only the VM's own -cpu")
    #expect(arguments.contains("262656K"), "memory that is no whole MiB goes in KiB")
    #expect(!arguments.contains("-kernel") && !arguments.contains("-append"))
    // Commas in a path double inside QEMU's option lists.
    #expect(arguments.contains("file=/images/a,,b.qcow2,if=virtio,format=qcow2"))
    #expect(arguments.contains("tap,id=net1,ifname=lab-db2,script=no,downscript=no,vhost=off"))
    #expect(arguments.contains("virtio-net-pci,netdev=net1,mac=02:00:00:00:00:02"))
    #expect(arguments.suffix(3) == ["-snapshot", "-cpu", "max"], "qemu-args come last and win")
  }

  @Test func theVMsOwnConsoleSettingIsKept() {
    let vm = VMSpec(
      name: "vm1", ports: [], kernel: "k", append: "console=tty0 console=ttyS1",
      location: Self.here)
    let arguments = QEMUInvocation(
      vm: vm, executable: "/q", paths: Self.paths, nics: [], files: ("/k", nil, nil),
      accel: "tcg", vhost: false
    ).arguments
    #expect(arguments.contains("console=tty0 console=ttyS1"))
    #expect(!arguments.contains("-initrd"))
    let bare = VMSpec(name: "vm1", ports: [], kernel: "k", location: Self.here)
    #expect(
      QEMUInvocation(
        vm: bare, executable: "/q", paths: Self.paths, nics: [], files: ("/k", nil, nil),
        accel: "tcg", vhost: false
      ).arguments.contains("console=ttyS0"))
  }
}
