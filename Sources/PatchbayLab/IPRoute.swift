import CLinuxNet
import Foundation

/// Runs iproute2's `ip` for namespace and link set-up (what Mininet and every
/// lab tool lean on), turning a failure into one line naming the command.
public enum IPRoute {
  /// A failed `ip` command.
  public struct Failure: Error, CustomStringConvertible, Sendable {
    /// The arguments after `ip`.
    public var arguments: [String]
    /// What `ip` printed on stderr, trimmed to one line.
    public var message: String

    /// `ip netns add lab-h1: Cannot create namespace file ...: File exists`.
    public var description: String { "ip \(arguments.joined(separator: " ")): \(message)" }
  }

  /// The `ip` binary: iproute2 installs it in /usr/sbin or /sbin, which may not be on root's PATH under sudo.
  public static let executable: String = {
    for path in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
    where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    return "/usr/sbin/ip"
  }()

  /// True when `ip` is installed.
  public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executable) }

  /// Runs `ip ARGUMENTS...` and waits; throws with its stderr on a non-zero exit.
  public static func run(_ arguments: [String]) throws(Failure) {
    _ = try output(arguments)
  }

  /// Runs `ip ARGUMENTS...`, waits, and returns what it printed on stdout;
  /// throws with its stderr on a non-zero exit.
  public static func output(_ arguments: [String]) throws(Failure) -> String {
    let result = run(program: [executable] + arguments)
    if let problem = result.problem {
      throw Failure(arguments: arguments, message: "cannot run \(executable): \(problem)")
    }
    guard result.status == 0 else {
      let message = result.errors
        .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: "; ")
      throw Failure(
        arguments: arguments, message: message.isEmpty ? "exit status \(result.status)" : message)
    }
    return result.output
  }

  /// Runs `program` (path and arguments) to completion through the spawn shim,
  /// not Foundation's Process: Process starts libdispatch threads, and those
  /// would keep the daemon's full capabilities after it drops them.
  static func run(program: [String]) -> (
    status: Int32, output: String, errors: String, problem: String?
  ) {
    var output: UnsafeMutablePointer<CChar>?
    var errors: UnsafeMutablePointer<CChar>?
    var status: Int32 = 0
    let result = withArgumentVector(program) { pb_run_capture($0, &output, &errors, &status) }
    defer {
      free(output)
      free(errors)
    }
    let printed = output.map { String(cString: $0) } ?? ""
    let complaints = errors.map { String(cString: $0) } ?? ""
    let problem = result < 0 ? String(cString: strerror(-result)) : nil
    return (status, printed, complaints, problem)
  }

  /// Kills every process inside namespace `name` (servers and DHCP clients a
  /// lab started, commands left behind by `patchbay exec`): deleting a
  /// namespace does not end them, and they would keep it alive.
  public static func killProcesses(in name: String) {
    guard let text = try? output(["netns", "pids", name]) else { return }
    for word in text.split(whereSeparator: \.isWhitespace) {
      if let pid = Int32(word), pid > 1 { kill(pid, SIGKILL) }
    }
  }

  /// True when a network namespace named `name` exists (as `ip netns` sees it).
  public static func namespaceExists(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: "/run/netns/\(name)")
  }
}
