import ArgumentParser
import Foundation
import PatchbayControl
import PatchbayIO

/// `patchbay down NAME|FILE`.
struct DownCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "down", abstract: "Stop a running lab and remove what it created. Idempotent.")

  @Argument(help: "The lab's name, or its topology file.")
  var lab: String

  func run() throws {
    try requireRoot("patchbay down")
    let name = try LabName.resolve(lab)
    let paths = LabPaths(name: name)
    guard FileManager.default.fileExists(atPath: paths.directory) else {
      print("lab \(name) is not running")
      return
    }
    if let pid = paths.runningPID {
      // Ask politely over the control socket; a signal does the same if it does not answer.
      if (try? ControlClient.send(ControlRequest(command: .shutdown), to: paths.controlSocket))
        == nil
      {
        kill(pid, SIGTERM)
      }
      if !waitForExit(pid, seconds: 20) {
        kill(pid, SIGKILL)
        _ = waitForExit(pid, seconds: 5)
      }
    }
    // Whatever a dead daemon left behind (namespaces, state) goes now.
    let problems = LabResources.removeLeftovers(of: paths)
    guard problems.isEmpty else {
      throw CLIError("lab \(name) stopped, but: \(problems.joined(separator: "; "))")
    }
    print("lab \(name) is down")
  }

  private func waitForExit(_ pid: Int32, seconds: Int) -> Bool {
    for _ in 0..<(seconds * 20) {
      if kill(pid, 0) != 0 && errno == ESRCH { return true }
      usleep(50_000)
    }
    return false
  }
}

/// Turning what the user typed into a lab name.
enum LabName {
  /// A lab name as given, or the `name:` of a topology file.
  static func resolve(_ argument: String) throws -> String {
    if argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml")
      || FileManager.default.fileExists(atPath: argument)
    {
      return try TopologyFile.load(argument, checksVMs: false).name
    }
    return argument
  }

  /// The lab to act on when the name is optional: the one given, or the only running one.
  static func runningLab(_ argument: String?) throws -> String {
    if let argument { return try resolve(argument) }
    let running = LabPaths.knownLabs().filter { LabPaths(name: $0).runningPID != nil }
    switch running.count {
    case 0: throw CLIError("no lab is running")
    case 1: return running[0]
    default:
      throw CLIError("several labs are running (\(running.joined(separator: ", "))); name one")
    }
  }

  /// Asks lab `name` and returns the response, or a one-line error.
  static func ask(_ name: String, _ request: ControlRequest) throws -> ControlResponse {
    let paths = LabPaths(name: name)
    guard paths.runningPID != nil else { throw CLIError("lab \(name) is not running") }
    let response: ControlResponse
    do {
      response = try ControlClient.send(request, to: paths.controlSocket)
    } catch {
      throw CLIError(error.description)
    }
    guard response.ok else { throw CLIError(response.error ?? "the lab refused the request") }
    return response
  }
}
