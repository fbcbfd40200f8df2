import Foundation
import Glibc

/// The unprivileged system user that a lab's daemon and its QEMU guests run as
/// once the lab is built (`patchbay`, made with `useradd --system` when missing,
/// as a packaged daemon's postinst would).
///
/// Running as a user of its own rather than as root means that what is left of
/// the daemon after set-up cannot write root's files even where a path check
/// were to fail, and a compromised QEMU owns nothing but its own process.
public struct ServiceUser: Sendable, Equatable {
  /// The account's name.
  public static let name = "patchbay"

  /// Its user id.
  public var uid: uid_t
  /// Its primary group id.
  public var gid: gid_t

  /// Makes a value for a known uid and gid (tests, and `lookUp`).
  public init(uid: uid_t, gid: gid_t) {
    self.uid = uid
    self.gid = gid
  }

  /// The `patchbay` user as the system knows it, or nil when it does not exist.
  public static func lookUp() -> ServiceUser? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 4096)
    let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
    guard status == 0, let found = result else { return nil }
    return ServiceUser(uid: found.pointee.pw_uid, gid: found.pointee.pw_gid)
  }

  /// The `patchbay` user, made first when it does not exist yet (as root: a
  /// system account without a home or a login shell).
  public static func ensure() throws(LabError) -> ServiceUser {
    if let user = lookUp() { return user }
    let useradd = ["/usr/sbin/useradd", "/sbin/useradd"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let useradd else {
      throw LabError("cannot make the '\(name)' system user: useradd not found (package passwd)")
    }
    let result = IPRoute.run(program: [
      useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
      "--shell", "/usr/sbin/nologin", "--user-group", name,
    ])
    // Another lab may have made it meanwhile (exit status 9: already exists).
    if let user = lookUp() { return user }
    let why =
      result.problem
      ?? result.errors.split(whereSeparator: \.isNewline).first.map(String.init)
      ?? "exit status \(result.status)"
    throw LabError("cannot make the '\(name)' system user: \(why)")
  }
}
