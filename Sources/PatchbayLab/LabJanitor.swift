import CLinuxNet
import Foundation
import PatchbayTopology

/// The daemon's side of its janitor: a process started with root's full
/// privileges before the daemon drops its own, which removes the lab's
/// namespaces, veths and state once the daemon asks (tear-down) or goes away
/// (a crash closes the pipe). Deleting a namespace takes CAP_SYS_ADMIN, which
/// the daemon no longer has by then.
///
/// The janitor removes what the record handed to it at start names, never
/// what `resources.json` says later: the daemon, once it runs as the service
/// user, is not trusted to name what root deletes.
public final class LabJanitor: @unchecked Sendable {
  // Sendable: `clean()` runs once, on the thread tearing the lab down.
  private let pid: Int32
  private var commandWriter: Int32
  private let reportReader: Int32

  private init(pid: Int32, commandWriter: Int32, reportReader: Int32) {
    self.pid = pid
    self.commandWriter = commandWriter
    self.reportReader = reportReader
  }

  /// Starts `patchbay janitor NAME` for lab `name` and hands it `record`:
  /// one line of JSON on its standard input, ahead of the go byte.
  static func start(lab name: String, record: LabResources) throws -> LabJanitor {
    var command: [Int32] = [0, 0]
    var report: [Int32] = [0, 0]
    guard pipe(&command) == 0 else { throw PatchbayError("cannot create a pipe") }
    guard pipe(&report) == 0 else {
      close(command[0])
      close(command[1])
      throw PatchbayError("cannot create a pipe")
    }
    // Close-on-exec: nothing else the daemon starts may hold these ends, or
    // the janitor would not see the daemon go. The spawn's dup2 clears the
    // flag on the copies the janitor gets as stdin and stdout.
    for end in command + report { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    let executable =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
    let pid = withArgumentVector([executable, "janitor", name]) {
      pb_spawn_io($0, command[0], report[1], report[1])
    }
    close(command[0])
    close(report[1])
    guard pid > 0 else {
      close(command[1])
      close(report[0])
      throw PatchbayError("cannot start the lab's janitor: \(String(cString: strerror(-pid)))")
    }
    let janitor = LabJanitor(pid: pid, commandWriter: command[1], reportReader: report[0])
    // Compact JSON has no newline: the line ends the record. A record larger
    // than the pipe holds is written while the janitor reads it.
    var line = [UInt8]((try? JSONEncoder().encode(record)) ?? Data())
    line.append(UInt8(ascii: "\n"))
    var written = 0
    while written < line.count {
      let count = line[written...].withUnsafeBytes { write(command[1], $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        _ = janitor.clean()
        throw PatchbayError("cannot hand the lab's record to its janitor")
      }
      written += count
    }
    return janitor
  }

  /// Asks the janitor to remove the lab's leftovers now, waits until it has,
  /// and returns what it could not remove, one line each.
  func clean() -> [String] {
    guard commandWriter >= 0 else { return [] }
    var go: UInt8 = 1
    _ = write(commandWriter, &go, 1)
    close(commandWriter)
    commandWriter = -1
    var report: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = read(reportReader, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      report += chunk[..<count]
    }
    close(reportReader)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let lines = String(decoding: report, as: UTF8.self).split(whereSeparator: \.isNewline)
    return lines.map(String.init)
  }

  /// The janitor process's side (`patchbay janitor NAME`): reads the lab's
  /// record from standard input, waits there for the go byte (or the daemon's
  /// end), then removes what the record names and prints what it could not remove.
  public static func serve(lab name: String) throws {
    if let problem = LabNameRule.problem(with: name) { throw PatchbayError(problem) }
    // The daemon's terminal may signal its process group; the janitor has its
    // own group already, and must outlive the daemon long enough to clean up.
    signal(SIGINT, SIG_IGN)
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    let paths = LabPaths(name: name)
    // One line of record, then anything (the go byte) or end of file. The
    // record is all that is read: nothing the daemon writes afterwards counts.
    var input: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var lineEnd: Int?
    while lineEnd == nil || input.count == lineEnd! + 1 {
      let count = read(0, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      if lineEnd == nil, let end = chunk[..<count].firstIndex(of: UInt8(ascii: "\n")) {
        lineEnd = input.count + end
      }
      input += chunk[..<count]
    }
    // Without a whole record the daemon ended before handing it over, so
    // before it dropped root's privileges: the file it wrote as root holds.
    let record =
      lineEnd.flatMap { try? JSONDecoder().decode(LabResources.self, from: Data(input[..<$0])) }
      ?? LabResources.load(paths)
    for problem in LabResources.removeLeftovers(record, of: paths) {
      print("janitor: \(problem)")
    }
  }
}
