import ArgumentParser
import PatchbayTopology

extension GraphFormat: ExpressibleByArgument {}

/// `patchbay graph FILE [--format dot|mermaid]`.
struct GraphCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "graph", abstract: "Print the topology as a Graphviz or Mermaid graph.")

  @Argument(help: "The topology file.", completion: .file(extensions: ["yaml", "yml"]))
  var file: String

  @Option(help: "dot or mermaid.")
  var format: GraphFormat = .dot

  func run() throws {
    let topology = try TopologyFile.load(file, checksVMs: false)
    print(topology.graph(format: format), terminator: "")
  }
}
