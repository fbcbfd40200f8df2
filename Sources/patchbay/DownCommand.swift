import ArgumentParser
import Foundation
import PatchbayControl
import PatchbayLab
import PatchbayTopology

/// `patchbay down NAME|FILE`.
struct DownCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "down", abstract: "Stop a running lab and remove what it created. Idempotent.")

  @Argument(
    help: "The lab's name, or its topology file.", completion: .custom(Completions.labs))
  var lab: String

  /// How long a daemon that did not answer the shutdown request (wedged,
  /// stopped) gets after SIGTERM before SIGKILL.
  static let unansweredGrace: Double = 3
  /// How long a daemon that took the request gets to power its VMs down and
  /// remove what it made before SIGKILL.
  static let answeredGrace: Double = 20
  /// How long `down` waits for the lab's lock once the daemon is gone (its
  /// janitor holds it while it removes a crashed lab's leftovers).
  static let lockWait: Double = 15

  func run() throws {
    try requireRoot("patchbay down")
    let name = try LabName.resolve(lab)
    let paths = LabPaths(name: name)
    // A daemon still setting up has no pid file yet, but holds the lock.
    let pid = paths.runningPID ?? LabLock.holder(of: paths).flatMap(Self.daemonPID)
    guard pid != nil || FileManager.default.fileExists(atPath: paths.directory) else {
      print("lab \(name) is not running")
      removeStaleLock(of: paths)
      return
    }
    if let pid { stop(pid, paths: paths) }
    // Whatever a dead daemon left behind (namespaces, state) goes now, under
    // the lab's lock: never while another `up` of it builds.
    let lock: LabLock
    do {
      lock = try LabLock.acquire(paths, waitingUpTo: Self.lockWait)
    } catch {
      throw PatchbayError(error.description)
    }
    let problems = LabResources.removeLeftovers(of: paths)
    lock.release(removingFile: true)
    guard problems.isEmpty else {
      throw PatchbayError("lab \(name) stopped, but: \(problems.joined(separator: "; "))")
    }
    print("lab \(name) is down")
  }

  /// Asks the daemon to stop over the control socket (which times out on a
  /// wedged daemon), signals it when it did not take the request, and kills
  /// it when it is still there after its grace.
  private func stop(_ pid: Int32, paths: LabPaths) {
    let answered =
      (try? ControlClient.send(ControlRequest.shutdown, to: paths.controlSocket))
      != nil
    if !answered { kill(pid, SIGTERM) }
    if !waitForExit(pid, seconds: answered ? Self.answeredGrace : Self.unansweredGrace) {
      kill(pid, SIGKILL)
      _ = waitForExit(pid, seconds: 5)
    }
  }

  /// `pid` when it is a lab daemon (`patchbay up ...`), nil otherwise: the
  /// lock's holder may be a janitor finishing a crashed lab's clean-up, which
  /// must not be signalled, or a pid the kernel cannot show (0).
  static func daemonPID(_ pid: Int32) -> Int32? {
    guard pid > 0, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
    else { return nil }
    let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard arguments.count > 1, arguments[0].hasSuffix("patchbay"), arguments[1] == "up" else {
      return nil
    }
    return pid
  }

  /// Removes the lock file of a lab that is not running, if nobody holds it.
  private func removeStaleLock(of paths: LabPaths) {
    guard FileManager.default.fileExists(atPath: paths.lockFile),
      let lock = try? LabLock.acquire(paths)
    else { return }
    lock.release(removingFile: true)
  }

  private func waitForExit(_ pid: Int32, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
      if kill(pid, 0) != 0 && errno == ESRCH { return true }
      usleep(50_000)
    } while Date() < deadline
    return false
  }
}

/// Turning what the user typed into a lab name.
enum LabName {
  /// A lab name as given, or the `name:` of a topology file. A name must
  /// follow the topology's rule (`LabNameRule`), so that `""`, `.` or `../x`
  /// never become a path under /run/patchbay: one error line instead.
  static func resolve(_ argument: String) throws -> String {
    if looksLikeFile(argument) {
      return try TopologyFile.load(argument, checksVMs: false).name
    }
    if let problem = LabNameRule.problem(with: argument) { throw PatchbayError(problem) }
    return argument
  }

  /// A path (it has a `/` or a YAML suffix, or names a regular file), not a name.
  private static func looksLikeFile(_ argument: String) -> Bool {
    if argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml") {
      return true
    }
    var isDirectory: ObjCBool = false
    return !argument.isEmpty
      && FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory)
      && !isDirectory.boolValue
  }

  /// The lab to act on when the name is optional: the one given, or the only running one.
  static func runningLab(_ argument: String?) throws -> String {
    if let argument { return try resolve(argument) }
    let running = LabPaths.knownLabs().filter { LabPaths(name: $0).runningPID != nil }
    switch running.count {
    case 0: throw PatchbayError("no lab is running")
    case 1: return running[0]
    default:
      throw PatchbayError("several labs are running (\(running.joined(separator: ", "))); name one")
    }
  }

  /// Asks lab `name` and returns the response, or a one-line error.
  static func ask(_ name: String, _ request: ControlRequest) throws -> ControlResponse {
    let paths = LabPaths(name: name)
    guard paths.runningPID != nil else { throw PatchbayError("lab \(name) is not running") }
    let response: ControlResponse
    do {
      response = try ControlClient.send(request, to: paths.controlSocket)
    } catch {
      throw PatchbayError(error.description)
    }
    guard response.ok else { throw PatchbayError(response.error ?? "the lab refused the request") }
    return response
  }
}
