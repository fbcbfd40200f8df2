import Foundation
import PatchbayControl

/// A one-line failure of a command or of the lab it runs: what follows
/// `patchbay: error: `, and the exit status.
public struct PatchbayError: Error, CustomStringConvertible {
  /// The line after `patchbay: error: `.
  public var message: String
  /// The process's exit status.
  public var exitCode: Int32 = 1

  /// A failure saying `message`, exiting with `exitCode`.
  public init(_ message: String, exitCode: Int32 = 1) {
    self.message = message
    self.exitCode = exitCode
  }

  /// The message.
  public var description: String { message }
}

/// Writes `line` and a newline to standard error, its unprintable characters
/// escaped: an error may quote what a daemon, a guest or a typo put there.
public func printError(_ line: String) {
  FileHandle.standardError.write(Data((TerminalText.escaped(line) + "\n").utf8))
}
