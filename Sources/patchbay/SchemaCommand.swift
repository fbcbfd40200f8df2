import ArgumentParser
import Foundation
import PatchbayTopology

/// `patchbay schema`: the topology file's JSON Schema, for editors and CI.
struct SchemaCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "schema",
    abstract: "Print the JSON Schema of topology files (schema/patchbay.schema.json).",
    discussion: """
      The schema is the one this binary's loader was built with. Save it with \
      'patchbay schema > patchbay.schema.json' and name it in a topology's first line, \
      '# yaml-language-server: $schema=patchbay.schema.json', for completion and inline \
      errors in editors.
      """)

  func run() throws {
    // The bytes as committed, not re-encoded: the tests compare them with the file.
    FileHandle.standardOutput.write(Data(TopologySchema.bytes))
  }
}
