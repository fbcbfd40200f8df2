import CLinuxNet
import Foundation
import Glibc
import Synchronization

/// What a lab daemon keeps of root's privileges once its lab is built.
///
/// Capabilities and user ids are per thread in Linux, so each thread restricts
/// itself: it becomes the `patchbay` user (`runAs(_:)`), and the datapath
/// thread keeps CAP_NET_ADMIN (bringing a returning interface up) and
/// CAP_NET_RAW (reopening packet sockets); every other thread keeps nothing.
/// The bounding set shrinks with them and no_new_privs is set, so no program
/// the daemon might run later regains more. Removing namespaces at the end
/// (which takes CAP_SYS_ADMIN) is left to a janitor process started before the drop.
public enum Privileges {
  // The user threads become when they restrict themselves; nil: they keep uid 0
  // (a lab built outside the daemon, as the IO tests do).
  private static let serviceUser = Mutex<ServiceUser?>(nil)

  /// Makes every thread that restricts itself from now on also become `user`.
  /// Set before the lab is built: threads started during set-up (captures,
  /// VM watchers) restrict themselves as they start.
  public static func runAs(_ user: ServiceUser) {
    serviceUser.withLock { $0 = user }
  }

  /// The user threads become, once `runAs(_:)` named one.
  public static var user: ServiceUser? { serviceUser.withLock { $0 } }

  /// CAP_NET_ADMIN (12) and CAP_NET_RAW (13).
  public static let datapath: UInt64 = 1 << 12 | 1 << 13
  /// No capability at all.
  public static let none: UInt64 = 0

  /// Restricts the calling thread to the capabilities in `keep`, as the
  /// service user when one is set, creating files as `fileOwner` when given.
  public static func restrictThisThread(
    to keep: UInt64, fileOwner: (uid: uid_t, gid: gid_t)? = nil
  ) throws(LabError) {
    let result: Int32
    if let user {
      result = pb_become_user(
        user.uid, user.gid, keep, fileOwner.map { Int64($0.uid) } ?? -1,
        fileOwner.map { Int64($0.gid) } ?? -1)
    } else {
      if let fileOwner { _ = pb_set_file_owner(fileOwner.uid, fileOwner.gid) }
      result = pb_restrict_capabilities(keep)
    }
    guard result == 0 else {
      throw LabError("cannot drop privileges: \(String(cString: strerror(-result)))")
    }
  }

  /// True when the process runs with root's privileges (there is something to drop).
  public static var isPrivileged: Bool { geteuid() == 0 }

  /// What one thread holds, read from its /proc status.
  public struct ThreadState: Sendable {
    /// The thread id.
    public var thread: Int32
    /// Capability sets.
    public var effective: UInt64, permitted: UInt64, bounding: UInt64
    /// Real, effective, saved and filesystem user ids.
    public var uids: [UInt32]
    /// Real, effective, saved and filesystem group ids.
    public var gids: [UInt32]
    /// Supplementary groups.
    public var groups: [UInt32]
    /// The seccomp mode (2: a filter).
    public var seccomp: Int
  }

  /// The ids, capability sets and seccomp mode of every thread of this
  /// process, by thread id, read from /proc: what the drop achieved.
  public static func threadStates() -> [ThreadState] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
      guard let thread = Int32(task),
        let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8)
      else { return nil }
      func text(_ name: String) -> String {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
          return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return ""
      }
      func mask(_ name: String) -> UInt64 { UInt64(text(name), radix: 16) ?? .max }
      func ids(_ name: String) -> [UInt32] {
        text(name).split(whereSeparator: \.isWhitespace).map { UInt32($0) ?? .max }
      }
      return ThreadState(
        thread: thread, effective: mask("CapEff"), permitted: mask("CapPrm"),
        bounding: mask("CapBnd"), uids: ids("Uid"), gids: ids("Gid"), groups: ids("Groups"),
        seccomp: Int(text("Seccomp")) ?? -1)
    }.sorted { $0.thread < $1.thread }
  }

  /// Makes the calling thread write files as `owner` (a capture directory's
  /// owner, read from the directory the capture holds open) and drop every
  /// capability: a capture thread creates a ring's next file in the user's
  /// directory as that user, with no privilege left to misuse.
  static func restrictCaptureThread(writingAs owner: (uid: uid_t, gid: gid_t)?) {
    guard isPrivileged else { return }
    try? restrictThisThread(to: none, fileOwner: owner)
  }
}
