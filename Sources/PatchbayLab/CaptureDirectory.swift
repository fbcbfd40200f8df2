import CLinuxNet
import Glibc
import PatchbayDatapath

/// The directory a capture's files go to, held open, and the one place
/// Patchbay creates, opens and removes capture files.
///
/// Topology captures are written by a daemon that started as root into a
/// directory that someone else may own: whoever owns it could plant a
/// symlink (`captures/x.pcapng -> /etc/shadow`) or a hard link there. So:
///
/// - the path is walked from `/` one component at a time with
///   `O_DIRECTORY | O_NOFOLLOW`, and a symlink anywhere on it is refused;
/// - a missing directory is made with `mkdirat` as the owner of the one it
///   is made in;
/// - files are created, truncated and removed relative to the held
///   descriptor (`openat`/`unlinkat`, `O_NOFOLLOW`), as the directory's
///   owner (the thread's filesystem uid and gid), so a hard link to a file
///   the owner cannot write is refused by the kernel like any other;
/// - only regular files are written (`O_NONBLOCK` on open, so a FIFO
///   planted in place of the file cannot block the daemon).
///
/// The CLI's own `-w FILE` goes through here too, as the caller, with its
/// directory opened as named (the caller's own path) and the file not
/// followed if it is a symlink.
public final class CaptureDirectory: @unchecked Sendable {
  // Sendable: immutable after `init`; the descriptor is only used with *at calls.

  /// Whose identity files are created with.
  public enum Identity: Sendable {
    /// The directory's owner (uid and gid): topology captures written by the daemon.
    case owner
    /// Whoever calls: `patchbay capture -w FILE`.
    case caller
  }

  /// The directory as named.
  public let path: String
  private let descriptor: Int32
  private let identity: Identity
  /// The directory's owner and group.
  let owner: (uid: uid_t, gid: gid_t)

  private init(path: String, descriptor: Int32, identity: Identity) {
    self.path = path
    self.descriptor = descriptor
    self.identity = identity
    var info = stat()
    fstat(descriptor, &info)
    owner = (info.st_uid, info.st_gid)
  }

  deinit { close(descriptor) }

  /// Opens `path` (absolute) without following any symlink on it, making
  /// missing directories (as the owner of each one's parent) when
  /// `creatingMissing`; files are then created as the directory's owner.
  /// A symlink, a component that is not a directory, or a directory that
  /// cannot be made is a one-line error naming the path.
  public static func open(ownedDirectory path: String, creatingMissing: Bool) throws(CaptureError)
    -> CaptureDirectory
  {
    guard path.hasPrefix("/") else {
      throw CaptureError("capture directory \(path) is not an absolute path")
    }
    var current = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard current >= 0 else { throw CaptureError("cannot open /: \(lastError())") }
    var walked = ""
    for component in path.split(separator: "/").map(String.init) where component != "." {
      walked += "/" + component
      var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if next < 0 && errno == ENOENT && creatingMissing {
        let parentOwner = ownerOf(current)
        let made = asIdentity(parentOwner, mustSwitch: true) {
          mkdirat(current, component, 0o755) == 0 || errno == EEXIST ? 0 : errno
        }
        let reason: String? =
          switch made {
          case .success(0): nil
          case .success(let code): String(cString: strerror(code))
          case .failure(let error): error.description
          }
        if let reason {
          close(current)
          throw CaptureError("cannot create \(walked): \(reason)")
        }
        next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      }
      guard next >= 0 else {
        let reason = refusal(of: component, in: current)
        close(current)
        throw CaptureError("refused \(path): \(walked) \(reason)")
      }
      close(current)
      current = next
    }
    return CaptureDirectory(path: path, descriptor: current, identity: .owner)
  }

  /// Opens `path` as the caller names it (symlinks on the way followed: the
  /// caller's own path); files are created as the caller.
  /// `file` names the file to come, for the error.
  public static func open(callersDirectory path: String, for file: String) throws(CaptureError)
    -> CaptureDirectory
  {
    let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw CaptureError("cannot write \(file): \(lastError())") }
    return CaptureDirectory(path: path, descriptor: fd, identity: .caller)
  }

  /// Creates (or truncates) the regular file `name` in this directory for
  /// writing, never following a symlink, as this directory's identity.
  /// Returns the descriptor, or why not (one line naming the file).
  func createFile(_ name: String) throws(CaptureError) -> Int32 {
    let full = path.hasSuffix("/") ? path + name : path + "/" + name
    guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
      throw CaptureError("cannot write \(full): not a file name")
    }
    let result = asIdentity(identity == .owner ? owner : nil, mustSwitch: identity == .owner) {
      () -> Int32 in
      let fd = openat(
        descriptor, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
      return fd >= 0 ? fd : -errno
    }
    let fd: Int32
    switch result {
    case .failure(let error): throw CaptureError("cannot write \(full): \(error.description)")
    case .success(let value) where value < 0:
      if -value == ELOOP {
        throw CaptureError(
          "refused \(full): it is a symbolic link (capture files never follow one)")
      }
      throw CaptureError("cannot write \(full): \(String(cString: strerror(-value)))")
    case .success(let value): fd = value
    }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      close(fd)
      throw CaptureError("refused \(full): not a regular file")
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return fd
  }

  /// Removes the file `name` (a ring's oldest), as this directory's identity.
  func removeFile(_ name: String) {
    _ = asIdentity(identity == .owner ? owner : nil, mustSwitch: false) {
      unlinkat(descriptor, name, 0)
    }
  }

  /// The ids a capture's writer thread takes as its file ids for good when
  /// it drops its privileges: the owner's, when files here are written as
  /// the owner (the daemon's topology captures); nil otherwise.
  var ownerForWriterThread: (uid: uid_t, gid: gid_t)? { identity == .owner ? owner : nil }

  // MARK: Helpers

  /// Why `openat(directory, component, O_DIRECTORY | O_NOFOLLOW)` failed, in words.
  private static func refusal(of component: String, in directory: Int32) -> String {
    let saved = errno
    var info = stat()
    if fstatat(directory, component, &info, AT_SYMLINK_NOFOLLOW) == 0 {
      if info.st_mode & S_IFMT == S_IFLNK {
        return "is a symbolic link (capture paths never pass through one)"
      }
      if info.st_mode & S_IFMT != S_IFDIR { return "is not a directory" }
    }
    return String(cString: strerror(saved))
  }

  private static func ownerOf(_ descriptor: Int32) -> (uid: uid_t, gid: gid_t) {
    var info = stat()
    fstat(descriptor, &info)
    return (info.st_uid, info.st_gid)
  }

  private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Why a thread could not take on a file owner's identity.
struct IdentityError: Error, CustomStringConvertible {
  var description: String
}

/// Runs `body` with the calling thread's filesystem uid and gid set to
/// `identity` (nil: as it is), then puts them back. Only root can switch (or
/// a thread whose filesystem ids are `identity` already, like a capture
/// writer given `ownerForWriterThread` when it dropped its privileges); an unprivileged process acts as
/// itself, which can do nothing its user could not. With `mustSwitch`, a
/// root thread that cannot switch fails rather than act as root.
func asIdentity<Result>(
  _ identity: (uid: uid_t, gid: gid_t)?, mustSwitch: Bool, _ body: () -> Result
) -> Swift.Result<Result, IdentityError> {
  guard let identity else { return .success(body()) }
  var previousUID: uid_t = 0
  var previousGID: gid_t = 0
  pb_file_owner(&previousUID, &previousGID)
  if previousUID == identity.uid && previousGID == identity.gid { return .success(body()) }
  guard pb_set_file_owner(identity.uid, identity.gid) == 0 else {
    _ = pb_set_file_owner(previousUID, previousGID)
    if mustSwitch && geteuid() == 0 {
      return .failure(
        IdentityError(description: "cannot act as its owner (uid \(identity.uid))"))
    }
    return .success(body())
  }
  defer { _ = pb_set_file_owner(previousUID, previousGID) }
  return .success(body())
}
