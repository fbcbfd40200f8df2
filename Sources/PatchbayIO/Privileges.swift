import CLinuxNet
import Foundation
import Glibc

/// What a lab daemon keeps of root's privileges once its lab is built.
///
/// Capabilities are per thread in Linux, so each thread restricts itself: the
/// datapath thread keeps CAP_NET_ADMIN (bringing a returning interface up) and
/// CAP_NET_RAW (reopening packet sockets); every other thread keeps nothing.
/// The bounding set shrinks with them and no_new_privs is set, so no program
/// the daemon might run later regains more. Removing namespaces at the end
/// (which takes CAP_SYS_ADMIN) is left to a janitor process started before the drop.
public enum Privileges {
  /// CAP_NET_ADMIN (12) and CAP_NET_RAW (13).
  public static let datapath: UInt64 = 1 << 12 | 1 << 13
  /// No capability at all.
  public static let none: UInt64 = 0

  /// Restricts the calling thread to the capabilities in `keep`.
  public static func restrictThisThread(to keep: UInt64) throws(LabError) {
    let result = pb_restrict_capabilities(keep)
    guard result == 0 else {
      throw LabError("cannot drop capabilities: \(String(cString: strerror(-result)))")
    }
  }

  /// True when the process runs with root's privileges (there is something to drop).
  public static var isPrivileged: Bool { geteuid() == 0 }

  /// The capability sets (effective, permitted, bounding) of every thread of
  /// this process, by thread id, read from /proc: what the drop achieved.
  public static func threadCapabilities() -> [(
    thread: Int32, effective: UInt64, permitted: UInt64, bounding: UInt64
  )] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
      guard let thread = Int32(task),
        let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8)
      else { return nil }
      func field(_ name: String) -> UInt64 {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
          return UInt64(
            line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) ?? .max
        }
        return .max
      }
      return (thread, field("CapEff"), field("CapPrm"), field("CapBnd"))
    }.sorted { $0.thread < $1.thread }
  }

  /// Makes the calling thread write files as the owner of `directory` and drop
  /// every capability: a capture thread creates a ring's next file in the
  /// user's directory as that user, with no privilege left to misuse.
  static func restrictCaptureThread(writingIn directory: String?) {
    guard isPrivileged else { return }
    if let directory {
      var info = stat()
      if stat(directory, &info) == 0 { _ = pb_set_file_owner(info.st_uid, info.st_gid) }
    }
    try? restrictThisThread(to: none)
  }
}
