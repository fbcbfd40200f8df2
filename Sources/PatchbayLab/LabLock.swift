import Foundation
import Glibc

/// One lab's lock: an exclusive `flock` on `/run/patchbay/NAME.lock`, taken
/// by the daemon before its preflight clears anything and held for its whole
/// life (its janitor inherits the descriptor, so the lock lasts until a
/// crashed daemon's leftovers are gone too). A second `up` of the lab fails at
/// the lock and touches nothing; `down` waits on it before it removes
/// leftovers, so it never removes what a starting lab is building.
///
/// The file lives beside the state directory, so removing that directory
/// never frees the lock. Whoever removes the file holds the lock while doing
/// so, and a taker checks after `flock` that the path still names the file it
/// locked, so two takers never hold locks on two different files.
public final class LabLock: @unchecked Sendable {
  // Sendable: the descriptor is set once; only the owning thread releases it.

  /// The locked file's descriptor (close-on-exec unless `inheritable` says otherwise).
  public private(set) var descriptor: Int32
  private let path: String

  private init(descriptor: Int32, path: String) {
    self.descriptor = descriptor
    self.path = path
  }

  /// Takes lab `paths.name`'s lock, waiting at most `timeout` seconds for
  /// its holder to let go. Throws one line when it stays held ("already
  /// running", with the holder's pid) or the file cannot be opened.
  public static func acquire(_ paths: LabPaths, waitingUpTo timeout: Double = 0)
    throws(LabError) -> LabLock
  {
    let path = paths.lockFile
    if mkdir(LabPaths.root, 0o755) != 0 && errno != EEXIST {
      throw LabError("cannot create \(LabPaths.root): \(String(cString: strerror(errno)))")
    }
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      // O_NOFOLLOW: root opens this; a symlink put there must not be followed.
      let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
      guard fd >= 0 else {
        throw LabError("cannot open the lab's lock \(path): \(String(cString: strerror(errno)))")
      }
      if flock(fd, LOCK_EX | LOCK_NB) != 0 {
        let error = errno
        close(fd)
        if error == EINTR { continue }
        guard error == EWOULDBLOCK else {
          throw LabError("cannot lock \(path): \(String(cString: strerror(error)))")
        }
        if Date() < deadline {
          usleep(50_000)
          continue
        }
        let holder = holder(of: paths).flatMap { $0 > 0 ? " (pid \($0))" : nil } ?? ""
        throw LabError(
          "lab '\(paths.name)' is already running or starting\(holder); stop it with: patchbay down \(paths.name)"
        )
      }
      // Between open and flock the holder may have removed the file (and a
      // third party made a new one): then this lock guards nothing; retry.
      var locked = stat()
      var named = stat()
      guard fstat(fd, &locked) == 0, lstat(path, &named) == 0, locked.st_dev == named.st_dev,
        locked.st_ino == named.st_ino
      else {
        close(fd)
        continue
      }
      // The holder's pid, for the "already running" line and for `down`.
      let pid = Array("\(getpid())\n".utf8)
      _ = ftruncate(fd, 0)
      _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
      return LabLock(descriptor: fd, path: path)
    }
  }

  /// The pid of the process holding lab `paths.name`'s lock (a daemon, or
  /// its janitor once the daemon is gone), nil when nobody does, 0 when it is
  /// held but the kernel shows no pid. Read from /proc/locks, without
  /// touching the lock itself (a probe with `flock` would make a concurrent
  /// `up` fail).
  public static func holder(of paths: LabPaths) -> Int32? {
    var file = stat()
    guard lstat(paths.lockFile, &file) == 0,
      let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8)
    else { return nil }
    // "1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF" (major:minor in hex).
    let device = String(
      format: "%02x:%02x:%lu", deviceMajor(file.st_dev), deviceMinor(file.st_dev), file.st_ino)
    for line in table.split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count >= 6, fields[1] == "FLOCK", fields[5] == device,
        let pid = Int32(fields[4])
      else { continue }
      return max(pid, 0)
    }
    return nil
  }

  /// Runs `body` (a spawn) with the descriptor inheritable, so the process
  /// it starts holds the lock as long as it lives. Only for a moment when no
  /// other thread starts processes.
  public func inheritable<T>(_ body: () throws -> T) rethrows -> T {
    _ = fcntl(descriptor, F_SETFD, 0)
    defer { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    return try body()
  }

  /// Lets go of the lock; with `removingFile`, removes the file first (a
  /// lab that is down leaves nothing in /run/patchbay).
  public func release(removingFile: Bool = false) {
    guard descriptor >= 0 else { return }
    if removingFile { unlink(path) }
    close(descriptor)
    descriptor = -1
  }

  deinit { release() }
}

/// The major number of device `device` (glibc's `gnu_dev_major`).
private func deviceMajor(_ device: dev_t) -> UInt32 {
  UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff))
}

/// The minor number of device `device` (glibc's `gnu_dev_minor`).
private func deviceMinor(_ device: dev_t) -> UInt32 {
  UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff))
}
