import Foundation
import PatchbayTopology

/// Where a running lab keeps its state: `/run/patchbay/NAME/`.
public struct LabPaths: Sendable {
  /// The root of every lab's state.
  public static let root = "/run/patchbay"

  /// The lab's name.
  public let name: String

  /// Paths for lab `name`.
  public init(name: String) { self.name = name }

  /// `/run/patchbay/NAME`.
  public var directory: String { "\(LabPaths.root)/\(name)" }
  /// The daemon's pid.
  public var pidFile: String { "\(directory)/pid" }
  /// The control socket (mode 0600).
  public var controlSocket: String { "\(directory)/control.sock" }
  /// What the lab created, for clean-up after a crash.
  public var resourcesFile: String { "\(directory)/resources.json" }
  /// The lab's lock (`LabLock`): beside the state directory, not in it, so
  /// that it outlives the directory's removal by a crashed lab's clean-up.
  public var lockFile: String { "\(LabPaths.root)/\(name).lock" }
  /// The detached daemon's log.
  public var logFile: String { "\(directory)/daemon.log" }

  /// VM `vm`'s serial console output, as it happens (`patchbay console` follows it).
  public func console(ofVM vm: String) -> String { "\(directory)/\(vm).console" }
  /// The socket that carries VM `vm`'s serial console both ways.
  public func consoleSocket(ofVM vm: String) -> String { "\(directory)/\(vm).serial" }
  /// VM `vm`'s QMP socket, for the ACPI power button.
  public func monitorSocket(ofVM vm: String) -> String { "\(directory)/\(vm).qmp" }
  /// What VM `vm`'s QEMU itself printed (its errors).
  public func qemuLog(ofVM vm: String) -> String { "\(directory)/\(vm).log" }

  /// The namespace of host `host`: `NAME-HOST`.
  public func namespace(ofHost host: String) -> String { "\(name)-\(host)" }

  /// The pid of the lab's daemon if it is alive, else nil.
  public var runningPID: Int32? {
    guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
      kill(pid, 0) == 0 || errno == EPERM
    else { return nil }
    // Guard against pid reuse: the process must be a patchbay.
    let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
    return command.contains("patchbay") ? pid : nil
  }

  /// Names of every lab with a state directory, sorted (lock files and
  /// anything else not named by the lab-name rule are not labs).
  public static func knownLabs() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
      .filter(LabNameRule.isValid).sorted()
  }
}
