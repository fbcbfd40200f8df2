import Foundation
import PatchbayControl
import PatchbayTopology

/// Topology problems as JSON, for `validate --json`: an array of
/// `{"file", "line", "column", "severity", "message"}` objects, one a line,
/// in the order `validate` prints them; `[]` when there are none.
enum ProblemList {
  /// The JSON text of `diagnostics`, ending in a newline.
  static func json(_ diagnostics: [TopologyDiagnostic]) -> String {
    guard !diagnostics.isEmpty else { return "[]\n" }
    let objects = diagnostics.map { diagnostic in
      let location = diagnostic.location
      // Keys in this fixed order (not JSONEncoder's): what a reader expects, and stable in tests.
      return "  {\"file\": \(quoted(location.file)), \"line\": \(location.line), "
        + "\"column\": \(location.column), \"severity\": \"error\", "
        + "\"message\": \(quoted(diagnostic.message))}"
    }
    return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
  }

  /// `text` as a JSON string literal.
  static func quoted(_ text: String) -> String { JSONText.quoted(text) }
}
