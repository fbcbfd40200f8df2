import Foundation
import Testing

/// `Scripts/manpages OUTDIR`: patchbay(1) and one page per command, made from the binary's
/// help, each rendered by `man -l` without a warning.
@Suite struct ManualPageTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static let manInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/man")

  /// The commands `patchbay --help` lists, with the first line of each one's abstract.
  static func commandsInHelp() throws -> [(name: String, abstract: String)] {
    let help = try Harness.patchbay("--help")
    try #require(help.status == 0)
    let lines = help.output.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try #require(lines.firstIndex { $0 == "SUBCOMMANDS:" })
    var commands: [(name: String, abstract: String)] = []
    for line in lines[(start + 1)...] {
      if line.isEmpty { break }
      // "  up                      Build a lab ..."; continuation lines start with spaces only.
      guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
      let words = line.split(separator: " ", maxSplits: 1)
      commands.append(
        (String(words[0]), words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""))
    }
    return commands
  }

  /// Renders `page` as a reader's `man -l` would, with groff's warnings on.
  static func render(_ page: String) throws -> Harness.Result {
    try Harness.run(
      "/usr/bin/env",
      ["MANWIDTH=200", "LC_ALL=C.UTF-8", "/usr/bin/man", "--warnings", "-E", "UTF-8", "-l", page])
  }

  @Test(
    .enabled(if: manInstalled, "needs man-db and groff-base: sudo ./Scripts/test installs them"))
  func everyCommandHasAPageThatManRendersWithoutWarnings() throws {
    let output = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-man-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: output) }
    let script = Self.repository.appendingPathComponent("Scripts/manpages").path
    let made = try Harness.run(
      "/usr/bin/env", ["PATCHBAY_BINARY=\(Harness.binary)", script, output], timeout: 120)
    try #require(made.status == 0, "\(made.errors)")

    let commands = try Self.commandsInHelp().filter { $0.name != "help" }
    #expect(commands.map(\.name).contains("up") && commands.map(\.name).contains("capture"))
    let pages = try FileManager.default.contentsOfDirectory(atPath: output + "/man1").sorted()
    #expect(pages == (["patchbay.1"] + commands.map { "patchbay-\($0.name).1" }).sorted())

    let main = try Self.render(output + "/man1/patchbay.1")
    #expect(main.status == 0 && main.errors.isEmpty, "patchbay.1: \(main.errors)")
    #expect(main.output.contains("patchbay - A userspace virtual L2 switch"), "\(main.output)")
    for command in commands {
      // patchbay(1) names every command's page; each page renders cleanly and starts
      // with the command's abstract as `--help` gives it.
      #expect(main.output.contains("patchbay-\(command.name)(1)"), "\(command.name)")
      let page = output + "/man1/patchbay-\(command.name).1"
      let rendered = try Self.render(page)
      #expect(rendered.status == 0, "\(command.name): \(rendered.errors)")
      #expect(rendered.errors.isEmpty, "\(command.name): \(rendered.errors)")
      #expect(
        rendered.output.contains("patchbay-\(command.name) - \(command.abstract)"),
        "\(command.name): \(rendered.output.prefix(400))")
    }
    // The options as --help names them, with their value names.
    let capture = try Self.render(output + "/man1/patchbay-capture.1").output
    for option in ["-w FILE", "-f FILTER", "--ring N:SIZE", "--direction direction"] {
      #expect(capture.contains(option), "\(option)")
    }
    #expect(capture.contains("(default: both)"))
    // The file format's page (docs/man/*.5) goes beside them when the repository has one.
    let formats =
      ((try? FileManager.default.contentsOfDirectory(
        atPath: Self.repository.appendingPathComponent("docs/man").path)) ?? [])
      .filter { $0.hasSuffix(".5") }.sorted()
    let copied = (try? FileManager.default.contentsOfDirectory(atPath: output + "/man5")) ?? []
    #expect(copied.sorted() == formats)
    for page in formats {
      let rendered = try Self.render(output + "/man5/" + page)
      #expect(rendered.status == 0 && rendered.errors.isEmpty, "\(page): \(rendered.errors)")
      #expect(main.output.contains(page.replacingOccurrences(of: ".5", with: "(5)")))
    }
  }
}
