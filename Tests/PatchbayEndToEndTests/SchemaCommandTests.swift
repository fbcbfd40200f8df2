import Foundation
import Testing

/// `patchbay schema` and `patchbay validate --json`, through the real binary (no root needed).
@Suite struct SchemaCommandTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  @Test func schemaPrintsTheRepositorysSchemaFileByteForByte() throws {
    let file = try Data(
      contentsOf: Self.repository.appendingPathComponent("schema/patchbay.schema.json"))
    let result = try Harness.patchbay("schema")
    #expect(result.status == 0)
    #expect(result.errors.isEmpty)
    #expect(Data(result.output.utf8) == file)
  }

  @Test func validateJSONListsEveryProblemInFileOrder() throws {
    let file = try Harness.topologyFile(
      """
      name: bad
      switches:
        core:
          mac-agin: 300s
          ports:
            p1: {mtu: 9}
      hosts:
        h1: {port: core/p9, address: "10.0.0.300/24"}
      """)
    let result = try Harness.patchbay("validate", file, "--json")
    #expect(result.status == 1)
    #expect(result.errors.isEmpty)
    let problem = { (line: Int, column: Int, message: String) in
      "  {\"file\": \"\(file)\", \"line\": \(line), \"column\": \(column), "
        + "\"severity\": \"error\", \"message\": \"\(message)\"}"
    }
    #expect(
      result.output
        == "[\n"
        + [
          problem(4, 5, "unknown key 'mac-agin' in switch 'core'; did you mean 'mac-aging'?"),
          problem(6, 17, "invalid mtu '9': expected a whole number from 68 to 65535"),
          problem(8, 14, "port 'core/p9' does not exist"),
          problem(8, 32, "invalid address '10.0.0.300/24': expected A.B.C.D/N or dhcp"),
        ].joined(separator: ",\n") + "\n]\n")
    // And it is JSON that a reader takes apart into exactly those fields.
    let parsed = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
    #expect(parsed.count == 4)
    #expect(parsed.first?["line"] as? Int == 4)
    #expect(parsed.first?["severity"] as? String == "error")
  }

  @Test func validateJSONEscapesQuotesInMessages() throws {
    let file = try Harness.topologyFile("name: \"a\\\"b\"\nswitches: {core: {}}\n")
    let result = try Harness.patchbay("validate", file, "--json")
    #expect(result.status == 1)
    #expect(
      result.output
        == "[\n  {\"file\": \"\(file)\", \"line\": 1, \"column\": 7, \"severity\": \"error\", "
        + "\"message\": \"invalid lab name 'a\\\"b': use a-z, 0-9 and '-', starting with a letter or digit\"}\n]\n"
    )
  }

  @Test func validateJSONOfAGoodFileIsAnEmptyArray() throws {
    let file = Self.repository.appendingPathComponent("Topologies/quickstart.yaml").path
    let result = try Harness.patchbay("validate", file, "--json")
    #expect(result.status == 0)
    #expect(result.output == "[]\n")
    #expect(result.errors.isEmpty)
  }

  @Test func validateJSONOfAMissingFileIsAnErrorLine() throws {
    let result = try Harness.patchbay("validate", "/nonexistent/lab.yaml", "--json")
    #expect(result.status == 1)
    #expect(result.output.isEmpty)
    #expect(result.errors == "patchbay: error: no such file: /nonexistent/lab.yaml\n")
  }
}
