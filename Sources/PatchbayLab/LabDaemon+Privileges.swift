import Foundation

/// What the daemon keeps of root once its lab is built, and the check that it kept no more.
extension LabDaemon {
  /// Hands the removal of the lab's namespaces to a janitor process (with
  /// its own copy of the record), then makes every thread the service user,
  /// keeping only CAP_NET_ADMIN and CAP_NET_RAW in the datapath thread and
  /// nothing in this one, and confines them all to the daemon's system calls.
  /// Without root (tests of the daemon's logic) there is nothing to drop.
  static func dropPrivileges(of lab: Lab, lock: LabLock) throws {
    guard Privileges.isPrivileged, let user = Privileges.user else { return }
    // The janitor inherits the lab's lock: after a crash the lab stays
    // locked until its leftovers are gone.
    let janitor = try lock.inheritable {
      try LabJanitor.start(lab: lab.topology.name, record: lab.record)
    }
    lab.leftoverRemover = { _ in janitor.clean() }
    try lab.dropPrivileges()
    try check(Privileges.threadStates(), user: user, seccomp: false)
    try SystemCallFilter.install()
    try check(Privileges.threadStates(), user: user, seccomp: true)
  }

  /// Throws unless every thread is `user` (each file id too, but a capture
  /// thread's, which is its directory's owner), in no other group, with no
  /// capability beyond the datapath's, and (with `seccomp`) filtered.
  private static func check(
    _ threads: [Privileges.ThreadState], user: ServiceUser, seccomp: Bool
  ) throws {
    for thread in threads {
      let expected = "uid \(user.uid), gid \(user.gid), no supplementary group"
      guard thread.uids.prefix(3).allSatisfy({ $0 == user.uid }),
        thread.gids.prefix(3).allSatisfy({ $0 == user.gid }), thread.groups.isEmpty
      else {
        throw PatchbayError(
          "thread \(thread.thread) runs as uids \(thread.uids) gids \(thread.gids) groups \(thread.groups), not \(expected)"
        )
      }
      guard (thread.effective | thread.permitted | thread.bounding) & ~Privileges.datapath == 0
      else {
        throw PatchbayError(
          "thread \(thread.thread) kept capabilities beyond CAP_NET_ADMIN and CAP_NET_RAW")
      }
      if seccomp && thread.seccomp != 2 {
        throw PatchbayError("thread \(thread.thread) has no system call filter")
      }
    }
  }
}
