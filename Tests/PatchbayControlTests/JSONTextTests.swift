import PatchbayControl
import Testing

@Suite struct JSONTextTests {
  @Test func quotesBackslashesAndControlCharactersAreEscaped() {
    #expect(JSONText.quoted(#"a "b" \c"#) == #""a \"b\" \\c""#)
    #expect(JSONText.quoted("line\nnext\r\tx") == #""line\nnext\r\tx""#)
    #expect(JSONText.quoted("\u{1}\u{1f}\u{7f}") == #""\u0001\u001f\u007f""#)
  }

  @Test func otherTextStaysAsItIs() {
    #expect(JSONText.quoted("café → µs") == "\"café → µs\"")
    #expect(JSONText.quoted("") == "\"\"")
  }
}
