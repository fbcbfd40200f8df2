import Foundation

/// What a lab created, written to `resources.json` as it is created, so that
/// `down` can remove everything even after the daemon died. The record alone,
/// pure (its encoding and decoding), so it can be fuzzed without the I/O
/// layer; PatchbayLab calls it `LabResources` and adds reading, writing and
/// removing what it names.
public struct LabResourceRecord: Codable, Sendable, Equatable {
  /// The topology file the lab was built from.
  public var topologyFile: String = ""
  /// Network namespaces, in creation order.
  public var namespaces: [String] = []
  /// Interfaces to delete with `ip link del` if they outlive the daemon (TAPs
  /// vanish with their descriptor, so only veths and the like go here).
  public var links: [String] = []
  /// Host names of the lab, for `exec`.
  public var hosts: [String] = []
  /// The QEMU process of each running VM, by VM name.
  public var vmProcesses: [String: Int32] = [:]

  /// Empty resources.
  public init() {}

  /// The record in `data` (the JSON `encoded()` writes); nil when it is not one.
  public init?(decoding data: Data) {
    guard let record = try? JSONDecoder().decode(LabResourceRecord.self, from: data) else {
      return nil
    }
    self = record
  }

  /// The record as `resources.json` holds it: pretty-printed JSON, sorted keys.
  public func encoded() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(self)
  }
}
