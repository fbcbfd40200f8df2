import ArgumentParser
import Foundation
import PatchbayLab

/// `patchbay exec NAME HOST -- CMD...`.
struct ExecCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exec", abstract: "Run a command inside a namespace host of a running lab.")

  @Argument(help: "The lab's name.", completion: .custom(Completions.labs))
  var lab: String

  @Argument(help: "The host's name.", completion: .custom(Completions.hosts))
  var host: String

  @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
  var command: [String] = []

  func run() throws {
    try requireRoot("patchbay exec")
    guard !command.isEmpty else {
      throw PatchbayError("no command given: patchbay exec \(lab) \(host) -- CMD...")
    }
    let lab = try LabName.resolve(self.lab)
    let paths = LabPaths(name: lab)
    guard paths.runningPID != nil else { throw PatchbayError("lab \(lab) is not running") }
    let hosts = LabResources.load(paths)?.hosts ?? []
    guard hosts.contains(host) else {
      let known = hosts.isEmpty ? "it has none" : "hosts: \(hosts.joined(separator: ", "))"
      throw PatchbayError("lab \(lab) has no host '\(host)' (\(known))")
    }
    // `ip netns exec` also remounts /sys and applies /etc/netns, so tools inside see the namespace.
    let arguments = [IPRoute.executable, "netns", "exec", paths.namespace(ofHost: host)] + command
    fflush(nil)
    var cArguments = arguments.map { strdup($0) }
    cArguments.append(nil)
    execv(IPRoute.executable, &cArguments)
    throw PatchbayError("cannot run \(IPRoute.executable): \(String(cString: strerror(errno)))")
  }
}
