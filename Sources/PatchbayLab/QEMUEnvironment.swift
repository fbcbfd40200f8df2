import Foundation
import Glibc
import PatchbayTopology

/// What this machine offers a lab's VMs: the QEMU binary, KVM, vhost-net, and
/// the files the topology names. `validate` and `up` ask the same questions.
public enum QEMUEnvironment {
  /// The emulator for this machine's architecture.
  public static var executableName: String {
    #if arch(arm64)
      "qemu-system-aarch64"
    #else
      "qemu-system-x86_64"
    #endif
  }

  /// The Debian package that brings `executableName`.
  static var packageName: String {
    #if arch(arm64)
      "qemu-system-arm"
    #else
      "qemu-system-x86"
    #endif
  }

  /// `executableName` found on `searchPath` (PATH's format), nil when missing.
  public static func executable(
    searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  ) -> String? {
    for directory in searchPath.split(separator: ":") where !directory.isEmpty {
      let candidate = "\(directory)/\(executableName)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }

  /// True when KVM can be used (the device exists and opens for this user).
  public static var hasKVM: Bool { access("/dev/kvm", R_OK | W_OK) == 0 }

  /// True when `/dev/kvm` is hardware virtualization (kvm_intel or kvm_amd),
  /// which boots any guest kernel. Behind `/dev/kvm` there can also be PVM
  /// (kvm_pvm, used for nested sandboxes), which runs only kernels built as
  /// PVM guests: a distribution kernel hangs in its decompressor there (seen
  /// on the machine Patchbay is built on). Only hardware KVM is a safe default.
  public static var hasHardwareKVM: Bool {
    hasKVM
      && ["kvm_intel", "kvm_amd"].contains {
        FileManager.default.fileExists(atPath: "/sys/module/\($0)")
      }
  }

  /// True when the kernel's vhost-net can carry vNIC frames.
  public static var hasVhostNet: Bool { access("/dev/vhost-net", R_OK | W_OK) == 0 }

  /// The accelerator `vm` runs with: its own choice, else KVM when the
  /// machine has hardware KVM, else TCG (QEMU's emulator, slower, works everywhere).
  public static func accelerator(for vm: VMSpec) -> String {
    vm.accel ?? (hasHardwareKVM ? "kvm" : "tcg")
  }

  /// How this QEMU drops to another user once it has opened its files:
  /// `-run-with user=` where its help lists it (QEMU 9.1 and later), else
  /// `-runas` (Debian 12's QEMU 7.2); nil when it offers neither.
  public static func userSwitch(helpText: String) -> QEMUInvocation.UserSwitch? {
    let lines = helpText.split(whereSeparator: \.isNewline)
    if lines.contains(where: { $0.hasPrefix("-run-with") && $0.contains("user=") }) {
      return .runWith
    }
    if lines.contains(where: { $0.hasPrefix("-runas") }) { return .runas }
    return nil
  }

  /// `userSwitch(helpText:)` for the QEMU at `executable` (it runs `-help`).
  public static func userSwitch(executable: String) -> QEMUInvocation.UserSwitch? {
    let result = IPRoute.run(program: [executable, "-help"])
    return userSwitch(helpText: result.output)
  }

  /// Every VM problem this machine has with `topology`: a missing or
  /// unreadable kernel, initrd or disk (at its value), QEMU not installed,
  /// `accel: kvm` without KVM. Empty when the topology has no VMs.
  public static func problems(
    of topology: Topology, topologyFile: String, executable: String? = QEMUEnvironment.executable(),
    hasKVM: Bool = QEMUEnvironment.hasKVM
  ) -> [TopologyDiagnostic] {
    var problems: [TopologyDiagnostic] = []
    if let first = topology.vms.first, executable == nil {
      problems.append(
        TopologyDiagnostic(
          location: first.location,
          message:
            "QEMU is not installed: '\(executableName)' is not on PATH (apt-get install \(packageName))"
        ))
    }
    for vm in topology.vms {
      let files: [(key: String, path: String?)] = [
        ("kernel", vm.kernel), ("initrd", vm.initrd), ("disk", vm.disk), ("backing", vm.backing),
      ]
      for case (let key, let path?) in files {
        let resolved = resolvedPath(path, topologyFile: topologyFile)
        let location = vm.valueLocations[key] ?? vm.location
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) {
          problems.append(
            TopologyDiagnostic(location: location, message: "\(key) '\(path)' does not exist"))
        } else if isDirectory.boolValue {
          problems.append(
            TopologyDiagnostic(location: location, message: "\(key) '\(path)' is a directory"))
        } else if access(resolved, R_OK) != 0 {
          problems.append(
            TopologyDiagnostic(location: location, message: "\(key) '\(path)' is not readable"))
        } else if key == "disk", let problem = backingProblem(of: vm, topologyFile: topologyFile) {
          problems.append(TopologyDiagnostic(location: location, message: problem))
        }
      }
      if vm.accel == "kvm" && !hasKVM {
        problems.append(
          TopologyDiagnostic(
            location: vm.valueLocations["accel"] ?? vm.location,
            message: "accel kvm: /dev/kvm is missing or not usable here (use tcg)"))
      }
    }
    return problems
  }

  /// What is wrong with a qcow2 disk's header: it is no qcow2 image, or it
  /// names a backing file the topology did not declare (or another one than
  /// declared). QEMU opens images as root, before it drops to the `patchbay`
  /// user, so a name in a header must never choose a file for it.
  static func backingProblem(of vm: VMSpec, topologyFile: String) -> String? {
    guard let disk = vm.disk, vm.diskFormat == .qcow2 else { return nil }
    let path = resolvedPath(disk, topologyFile: topologyFile)
    guard let header = QCOW2Header.read(path: path) else {
      return "disk '\(disk)' is not a qcow2 image (for a plain image say format: raw)"
    }
    switch (header.backingFile, vm.backing) {
    case (nil, nil):
      return nil
    case (let named?, nil):
      return
        "disk '\(disk)' names a backing file '\(printable(named))' in its qcow2 header; QEMU opens it only when the topology declares it (disk: {file: ..., backing: ...})"
    case (nil, let declared?):
      return
        "disk '\(disk)' has no backing file in its qcow2 header, but backing '\(declared)' is declared"
    case (let named?, let declared?):
      let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path + "/"
      let fromHeader = named.hasPrefix("/") ? named : folder + named
      let real = { (path: String) in URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
      guard real(fromHeader) == real(resolvedPath(declared, topologyFile: topologyFile)) else {
        return
          "disk '\(disk)' names backing file '\(printable(named))' in its qcow2 header, not the declared '\(declared)'"
      }
      let backingPath = resolvedPath(declared, topologyFile: topologyFile)
      if DiskFormat(fileName: declared) == .qcow2,
        let chained = QCOW2Header.read(path: backingPath)?.backingFile
      {
        return
          "backing '\(declared)' names a backing file of its own ('\(printable(chained))'); only one level is supported"
      }
      return nil
    }
  }

  /// A name read from an image, fit for one line of a terminal: control characters as `?`.
  static func printable(_ text: String) -> String {
    String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
  }
}
