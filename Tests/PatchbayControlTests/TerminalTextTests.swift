import Foundation
import Testing

@testable import PatchbayControl

/// Untrusted strings (a guest's DHCP host name) reach the terminal escaped.
@Suite struct TerminalTextTests {
  @Test func controlCharactersAreShownAsEscapes() {
    #expect(TerminalText.escaped("evil\u{1B}[2Jhost") == "evil\\x1B[2Jhost")
    #expect(TerminalText.escaped("bell\u{07}cr\r\nnul\u{0}") == "bell\\x07cr\\x0D\\x0Anul\\x00")
    // DEL and the C1 range (U+009B is an 8-bit CSI).
    #expect(TerminalText.escaped("\u{7F}\u{9B}31m") == "\\x7F\\x9B31m")
    // Characters that reorder or hide text.
    #expect(TerminalText.escaped("abc\u{202E}fed") == "abc\\u{202E}fed")
    #expect(TerminalText.escaped("zero\u{200B}width") == "zero\\u{200B}width")
    #expect(TerminalText.escaped("\u{E000}") == "\\u{E000}")
    #expect(TerminalText.escaped("line\u{2028}sep") == "line\\u{2028}sep")
  }

  @Test func printableTextOfAnyScriptIsUnchanged() {
    for text in ["h1", "web-01.lab", "café", "日本語ホスト", "a b\\c", ""] {
      #expect(TerminalText.escaped(text) == text)
    }
  }

  @Test func escapingTwiceChangesNothing() {
    let once = TerminalText.escaped("x\u{1B}]0;title\u{07}")
    #expect(once == "x\\x1B]0;title\\x07")
    #expect(TerminalText.escaped(once) == once)
  }

  @Test func linesKeepTheirNewlines() {
    #expect(TerminalText.escapedLines("a\u{1B}c\nb\n") == "a\\x1Bc\nb\n")
  }

  @Test func jsonStaysValidAndDecodesToTheSameString() throws {
    struct Lease: Codable, Equatable { var hostName: String }
    let hostile = Lease(hostName: "pc\u{1B}[2J\u{9B}1m\u{202E}\u{7F}\u{1F600}")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let json = TerminalText.jsonSafe(String(decoding: try encoder.encode(hostile), as: UTF8.self))
    #expect(!json.unicodeScalars.contains { TerminalText.needsEscape($0) && $0 != "\n" })
    #expect(!json.utf8.contains(0x1B))
    #expect(json.contains("\\u001B") || json.contains("\\u001b"))
    #expect(json.contains("\\u202E"))
    // The emoji prints as itself; only the unprintable characters changed.
    #expect(json.contains("\u{1F600}"))
    #expect(try JSONDecoder().decode(Lease.self, from: Data(json.utf8)) == hostile)
    // Ordinary JSON passes through as it is.
    let plain = String(decoding: try encoder.encode(Lease(hostName: "h1")), as: UTF8.self)
    #expect(TerminalText.jsonSafe(plain) == plain)
  }
}
