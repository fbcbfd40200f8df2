import ArgumentParser
import PatchbayTopology

/// `patchbay validate FILE`.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a topology file: a summary, or every problem as FILE:LINE:COL: error: ...")

  @Argument(help: "The topology file.", completion: .file(extensions: ["yaml", "yml"]))
  var file: String

  func run() throws {
    let topology = try TopologyFile.load(file)
    print(topology.summary)
  }
}
