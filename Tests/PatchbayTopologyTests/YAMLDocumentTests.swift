import Testing
import Yams

@testable import PatchbayTopology

@Suite struct YAMLDocumentTests {
  @Test func repeatedKeysSurviveWithTheirPositions() throws {
    let document = try YAMLDocument.compose("a: 1\nb: {x: 1, 'x': 2}\na: 3\na: 4\n").get()
    let root = try #require(document.root?.mapping)
    #expect(root.map { document.keyText($0.key) } == ["a", "b", "a", "a"])
    #expect(root.map { $0.key.mark?.line } == [1, 2, 3, 4])
    let inner = try #require(root[1].value.mapping)
    #expect(inner.map { document.keyText($0.key) } == ["x", "x"])
    #expect(inner.map { $0.key.mark?.column } == [5, 11])
    #expect(inner.map { $0.value.scalar?.string } == ["1", "2"])
  }

  @Test func aRepeatThatCannotBeFoundInTheTextIsStillReported() {
    // An alias used as a key points at its anchor, not at the text of the repeat.
    #expect(
      YAMLDocument.compose("a: &k x\n*k : 1\nx: 2\n").failureValue
        == YAMLDocument.SyntaxError(message: "duplicate key 'x'", line: 1, column: 4))
  }

  @Test func syntaxErrorsCarryTheParserMark() {
    #expect(
      YAMLDocument.compose("a:\n\tb: 1\n").failureValue
        == YAMLDocument.SyntaxError(
          message: "invalid YAML: found character that cannot start any token "
            + "(while scanning for the next token at 2:1)", line: 2, column: 1))
    #expect(
      YAMLDocument.compose("a: 1\n---\nb: 2\n").failureValue
        == YAMLDocument.SyntaxError(
          message: "invalid YAML: but found another document "
            + "(expected a single document in the stream at 1:1)", line: 2, column: 1))
  }

  @Test func suggestionsAreCloseOrPrefixes() {
    let keys = ["mac-aging", "mac-table-size", "ports"]
    #expect(suggestion(for: "mac-agin", among: keys) == "mac-aging")
    #expect(suggestion(for: "port", among: keys) == "ports")
    #expect(suggestion(for: "mac-table", among: keys) == "mac-table-size")
    #expect(suggestion(for: "colour", among: keys) == nil)
    #expect(suggestion(for: "ma", among: keys) == nil)
    #expect(editDistance("kitten", "sitting") == 3)
    #expect(editDistance("", "abc") == 3)
  }
}

extension Result {
  fileprivate var failureValue: Failure? {
    if case .failure(let failure) = self { return failure }
    return nil
  }
}
