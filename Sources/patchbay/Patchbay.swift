import ArgumentParser
import Foundation
import PatchbayControl
import PatchbayLab
import PatchbayTopology

/// The `patchbay` command: builds, runs and inspects labs of switches, TAPs and namespace hosts.
@main
struct Patchbay: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "patchbay",
    abstract: "A userspace virtual L2 switch and vNIC fabric for lab VMs.",
    version: PatchbayVersion.current,
    subcommands: [
      UpCommand.self, DownCommand.self, ValidateCommand.self, StatusCommand.self,
      FDBCommand.self, NATCommand.self, ExecCommand.self, SetCommand.self, CaptureCommand.self,
      GraphCommand.self, ConsoleCommand.self, JanitorCommand.self, SchemaCommand.self,
    ]
  )

  /// Runs the command; every failure becomes `patchbay: error: ...` (or, for
  /// topology files, `FILE:LINE:COL: error: ...` lines) and a non-zero exit,
  /// never a crash.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let error as TopologyError {
      for diagnostic in error.diagnostics { printError(diagnostic.description) }
      Foundation.exit(1)
    } catch let error as ExitCode {
      // The failure was reported already (a detached daemon's own error lines).
      Foundation.exit(error.rawValue)
    } catch let error as PatchbayError {
      printError("patchbay: error: \(error.message)")
      Foundation.exit(error.exitCode)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))
        Foundation.exit(0)
      }
      // A shell asking for completions (at a TAB) must never see an error line: its
      // stderr is the user's terminal, in the middle of what they are typing.
      if CommandLine.arguments.dropFirst().first == "---completion" { Foundation.exit(1) }
      let message =
        Self.message(for: error)
        .split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
      let trimmed = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
      printError("patchbay: error: \(trimmed) (see 'patchbay --help')")
      Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
    }
  }
}

/// Fails unless running as root: labs need CAP_NET_ADMIN, and the control sockets are root's.
func requireRoot(_ action: String) throws {
  guard geteuid() == 0 else {
    throw PatchbayError("\(action) needs root (CAP_NET_ADMIN): run it with sudo")
  }
}
