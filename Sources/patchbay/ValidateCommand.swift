import ArgumentParser
import PatchbayTopology

/// `patchbay validate FILE [--json]`.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a topology file: a summary, or every problem as FILE:LINE:COL: error: ...",
    discussion: """
      With --json, stdout is a JSON array of the problems, each {"file", "line", "column", \
      "severity", "message"} (exit 1), or [] when there are none (exit 0). A file that cannot \
      be read at all is still a 'patchbay: error: ...' line on stderr.
      """)

  @Argument(help: "The topology file.", completion: .file(extensions: ["yaml", "yml"]))
  var file: String

  @Flag(help: "Print the problems as a JSON array, for editors and CI.")
  var json = false

  func run() throws {
    guard json else {
      print(try TopologyFile.load(file).summary)
      return
    }
    do {
      _ = try TopologyFile.load(file)
      print(ProblemList.json([]), terminator: "")
    } catch let error as TopologyError {
      print(ProblemList.json(error.diagnostics), terminator: "")
      throw ExitCode(1)
    }
  }
}
