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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    let printed = Pipe()
    process.standardError = errors
    process.standardOutput = printed
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw Failure(arguments: arguments, message: "cannot run \(executable): \(error)")
    }
    // Read both pipes to the end before waiting, so neither fills up and stalls `ip`.
    let stderr = PipeReader(errors.fileHandleForReading)
    let text = printed.fileHandleForReading.readDataToEndOfFile()
    let data = stderr.wait()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let message = String(decoding: data, as: UTF8.self)
        .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: "; ")
      throw Failure(
        arguments: arguments,
        message: message.isEmpty ? "exit status \(process.terminationStatus)" : message)
    }
    return String(decoding: text, as: UTF8.self)
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

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: @unchecked Sendable {
  // Sendable: `data` is written by the reading thread before `done` is
  // signalled and read only after `wait()` saw that signal.
  private var data = Data()
  private let done = DispatchSemaphore(value: 0)

  init(_ handle: FileHandle) {
    Thread.detachNewThread { [self] in
      data = handle.readDataToEndOfFile()
      done.signal()
    }
  }

  /// Everything the pipe carried, once its writers closed it.
  func wait() -> Data {
    done.wait()
    return data
  }
}
