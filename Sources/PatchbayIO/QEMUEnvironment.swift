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

  /// The image's format from its first bytes: qcow2 carries a magic number, anything else is raw.
  public static func diskFormat(of path: String) -> QEMUInvocation.DiskFormat {
    guard let handle = FileHandle(forReadingAtPath: path) else { return .raw }
    defer { try? handle.close() }
    let magic = (try? handle.read(upToCount: 4)) ?? Data()
    return magic == Data([0x51, 0x46, 0x49, 0xFB]) ? .qcow2 : .raw
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
        ("kernel", vm.kernel), ("initrd", vm.initrd), ("disk", vm.disk),
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
}
