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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw Failure(arguments: arguments, message: "cannot run \(executable): \(error)")
    }
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let text = String(decoding: data, as: UTF8.self)
        .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: "; ")
      throw Failure(
        arguments: arguments,
        message: text.isEmpty ? "exit status \(process.terminationStatus)" : text)
    }
  }

  /// True when a network namespace named `name` exists (as `ip netns` sees it).
  public static func namespaceExists(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: "/run/netns/\(name)")
  }
}
