import Foundation
import PatchbayDatapath
import PatchbayLab
import PatchbayTopology

/// Reading a topology file from disk: the one place the CLI turns a path into a `Topology`.
enum TopologyFile {
  /// Reads and validates `path`; throws `TopologyError` with every problem, or
  /// `PatchbayError` when the file cannot be read. With `checksVMs` (for `validate`
  /// and `up`) it also checks this machine for what the VMs need: `down FILE`
  /// and `graph` must work after a kernel was deleted or QEMU removed.
  static func load(_ path: String, checksVMs: Bool = true) throws -> Topology {
    guard let data = FileManager.default.contents(atPath: path) else {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        throw PatchbayError(
          isDirectory.boolValue ? "\(path) is a directory" : "cannot read \(path)")
      }
      throw PatchbayError("no such file: \(path)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw PatchbayError("\(path) is not UTF-8 text")
    }
    let topology = try TopologyLoader.load(yaml: text, file: path)
    let problems =
      filterProblems(topology)
      + (checksVMs ? QEMUEnvironment.problems(of: topology, topologyFile: path) : [])
    if !problems.isEmpty {
      throw TopologyError(diagnostics: problems.sorted { $0.location < $1.location })
    }
    return topology
  }

  /// Compiles every capture and mirror filter with libpcap, as the daemon
  /// will: a mistake is a topology error at the filter.
  static func filterProblems(_ topology: Topology) -> [TopologyDiagnostic] {
    var diagnostics: [TopologyDiagnostic] = []
    let filters =
      topology.captures.map { ($0.filter, $0.filterLocation ?? $0.location, $0.snaplen) }
      + topology.mirrors.map { ($0.filter, $0.filterLocation ?? $0.location, 262_144) }
    for case (let expression?, let location, let snaplen) in filters {
      do {
        _ = try PacketFilter(expression, snaplen: snaplen)
      } catch {
        diagnostics.append(TopologyDiagnostic(location: location, message: error.description))
      }
    }
    return diagnostics
  }
}
