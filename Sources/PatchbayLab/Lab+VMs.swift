import Foundation
import Glibc
import Logging
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology

/// A lab's QEMU guests: their TAPs, their start after the switch is ready,
/// their exit, and their power-down when the lab stops.
extension Lab {
  /// Makes the persistent TAP that VM port `port` gives its QEMU to open, and
  /// brings it up. Recorded once it exists and is the lab's (`ip tuntap add`
  /// refuses a name in use), so a failure later removes it with the rest and
  /// a rollback never deletes an interface of that name someone else made.
  static func createVMTap(
    _ name: String, for port: PortSpec, paths: LabPaths, resources: inout LabResources
  ) throws {
    try IPRoute.run(["tuntap", "add", "dev", name, "mode", "tap"])
    resources.links.append(name)
    do {
      try resources.save(paths)
    } catch {
      // Unrecorded, nothing would remove it later: remove it now.
      _ = try? IPRoute.run(["link", "del", name])
      throw error
    }
    try IPRoute.run(["link", "set", name, "mtu", "\(port.mtu)", "up"])
  }

  /// Starts every VM's QEMU, one after another, each once the one before has
  /// its monitor up. Called once the switch forwards, so a guest's first DHCP
  /// request already finds its port.
  func startVMs(topologyFile: String) throws(LabError) {
    guard !topology.vms.isEmpty else { return }
    guard let executable = QEMUEnvironment.executable() else {
      throw LabError(
        "QEMU is not installed: '\(QEMUEnvironment.executableName)' is not on PATH")
    }
    // QEMU opens its TAPs, files and devices as root, then becomes `patchbay`
    // (an unprivileged user with no capabilities) before the guest runs.
    let user = try ServiceUser.ensure()
    guard let userSwitch = QEMUEnvironment.userSwitch(executable: executable) else {
      throw LabError(
        "\(executable) offers neither -run-with user= nor -runas: it cannot drop root, and Patchbay does not run guests as root"
      )
    }
    for vm in topology.vms {
      let invocation = try invocation(
        for: vm, executable: executable, topologyFile: topologyFile,
        user: (ServiceUser.name, userSwitch))
      let ports = try vm.ports.map { reference throws(LabError) in try globalIndex(of: reference) }
      let machine = try VirtualMachine.start(
        name: vm.name, ports: ports, invocation: invocation, stopTimeout: vm.stopTimeout,
        paths: paths, consoleCap: topology.logCap, owner: user, logger: logger,
        recordPID: { pid throws(LabError) in try self.recordVMProcess(vm.name, pid: pid) },
        onExit: { [weak self] machine, state in self?.vmExited(machine, state: state) })
      machines.withLock { $0.append(machine) }
    }
  }

  /// QEMU's command line for `vm`: its TAPs, MACs and files, and the
  /// accelerator and vhost this machine has.
  private func invocation(
    for vm: VMSpec, executable: String, topologyFile: String,
    user: (name: String, switch: QEMUInvocation.UserSwitch)
  ) throws(LabError) -> QEMUInvocation {
    var nics: [QEMUInvocation.NIC] = []
    for (index, reference) in vm.ports.enumerated() {
      guard case .tap(let interface) = topology.port(reference)?.kind else {
        throw LabError("vm \(vm.name): port \(reference) is not a port whose TAP the lab owns")
      }
      nics.append(QEMUInvocation.NIC(tap: interface, mac: topology.macAddress(of: vm, nic: index)))
    }
    let resolve = { (path: String) in resolvedPath(path, topologyFile: topologyFile) }
    // `validate` checked these; `up` checks again, as the files may have changed since.
    if let problem = QEMUEnvironment.backingProblem(of: vm, topologyFile: topologyFile) {
      throw LabError("vm \(vm.name): \(problem)")
    }
    let accel = QEMUEnvironment.accelerator(for: vm)
    return QEMUInvocation(
      vm: vm, executable: executable, paths: paths, nics: nics,
      files: (
        vm.kernel.map(resolve), vm.initrd.map(resolve), vm.disk.map(resolve),
        vm.backing.map(resolve)
      ),
      accel: accel,
      // vhost-net moves frames in the kernel; under TCG there is no KVM
      // ioeventfd for it to hook, so QEMU's own path is the one that works.
      vhost: accel == "kvm" && QEMUEnvironment.hasVhostNet, user: user,
      consoleLog: VirtualMachine.consoleOutput)
  }

  private func recordVMProcess(_ name: String, pid: Int32) throws(LabError) {
    do {
      try updateResources { $0.vmProcesses[name] = pid }
    } catch {
      throw LabError("vm \(name): cannot record its pid: \(error)")
    }
  }

  /// A VM's QEMU ended on its own (the guest powered off, QEMU crashed or was
  /// killed): its ports go down and stay down; the rest of the lab runs on.
  private func vmExited(_ machine: VirtualMachine, state: VMState) {
    guard state.phase == .exited else { return }
    for port in machine.ports { datapath.holdDown(port: port) }
    logger.notice(
      "vm \(machine.name) \(state.summary); its ports are down",
      metadata: ["vm": .string(machine.name)])
  }

  /// Each VM's state, in topology order (nil for one not started).
  public func vmStates() -> [VMState?] {
    let started = machines.withLock { $0 }
    return topology.vms.map { vm in started.first { $0.name == vm.name }?.current }
  }

  /// Powers every running VM down: the ACPI power button, then SIGTERM once
  /// its `stop-timeout` has passed (at once when its monitor does not take
  /// the button, or without `gracefully`), then SIGKILL three seconds later.
  /// Returns when all ended.
  func stopVMs(gracefully: Bool = true) {
    let running = machines.withLock { $0 }.filter { !$0.hasEnded }
    guard !running.isEmpty else { return }
    let start = Date()
    var deadlines: [ObjectIdentifier: TimeInterval] = [:]
    for machine in running {
      // Without grace nothing is pressed, and the deadline below is now.
      var pressed = false
      if gracefully { pressed = machine.pressPowerButton() } else { machine.markStopping() }
      deadlines[ObjectIdentifier(machine)] =
        pressed ? Double(machine.stopTimeout.nanoseconds) / 1e9 : 0
    }
    var terminated: Set<ObjectIdentifier> = []
    // A QEMU the daemon may not signal is left to the janitor, which ends it the same way.
    var unreachable: Set<ObjectIdentifier> = []
    while case let left = running.filter({
      !$0.hasEnded && !unreachable.contains(ObjectIdentifier($0))
    }), !left.isEmpty {
      let elapsed = Date().timeIntervalSince(start)
      for machine in left {
        let deadline = deadlines[ObjectIdentifier(machine)] ?? 0
        var signalled = true
        if elapsed >= deadline + 3 {
          signalled = machine.send(SIGKILL)
        } else if elapsed >= deadline, terminated.insert(ObjectIdentifier(machine)).inserted {
          signalled = machine.send(SIGTERM)
        }
        if !signalled { unreachable.insert(ObjectIdentifier(machine)) }
      }
      usleep(50_000)
    }
  }
}
