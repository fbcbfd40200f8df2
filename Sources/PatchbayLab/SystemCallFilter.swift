import CSeccomp
import Glibc
import PatchbayDatapath

/// The lab daemon's seccomp allow-list, loaded once its threads have dropped
/// their privileges and applied to every one of them (TSYNC); threads started
/// later inherit it.
///
/// The list is what the running daemon was seen to call, derived with
/// `strace -f` of a whole lab's life (two namespace hosts, a veth host behind
/// a NAT uplink, an attach port, a topology capture with a ring, a VM): every
/// call of the daemon's threads after the filter was loaded, while `status`,
/// `fdb`, `nat` and `set` ran (and failed), the ring rotated, two `patchbay
/// capture` clients streamed, the attached interface went and came back, a
/// host namespace was deleted, the VM booted and `down` powered it off. That
/// run made 40 distinct calls; the end-to-end tests found one more (a
/// capture stream's reader going away: `recvfrom`); the others listed are
/// the paths it did not take (a signal's handler returning, a QEMU that ignores the power button,
/// malloc growing, a crash aborting) and the arm64 spellings of the same
/// calls. Left out on purpose, among everything else: `execve`, `clone` (so
/// no fork), `connect`, `ptrace`, `mount`, `setns`/`unshare`, the id-changing
/// and capability calls, `bpf`, `init_module`, `kexec_load`, `keyctl`,
/// `io_uring_*`, and `ioctl`s, sockets, `prctl`s and signals beyond the few
/// named in `allowedWith`.
///
/// Anything else fails with EPERM and is logged by the kernel (an `audit:
/// type=1326` line naming the system call, in `dmesg`). EPERM rather than
/// killing the process: the call does not happen either way, so an attacker
/// gains nothing by it, while the daemon checks every call's result, so a
/// path the list missed (an error path nobody exercised) fails as one error
/// in that operation instead of taking the whole lab down mid-experiment; the
/// kernel's log line says what to add.
public enum SystemCallFilter {
  /// The system calls the daemon may make after set-up, whatever their
  /// arguments (x86-64 names, with the arm64 spellings of the same calls;
  /// names a kernel does not have are skipped).
  public static let allowed: [String] = [
    // Memory, threads, time, signals: the Swift runtime, Foundation, libdispatch.
    "brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "futex", "sched_yield",
    "clock_nanosleep", "clock_gettime", "getrandom", "rseq", "set_robust_list", "clone3",
    "exit", "exit_group", "gettid", "getpid", "geteuid", "rt_sigprocmask", "rt_sigreturn",
    "restart_syscall", "tgkill",
    // The datapath: TAPs and packet sockets, its epoll and wakeups, batched
    // I/O (writev: a frame framed for its port as MAC addresses, pushed tag
    // and the rest); a returning interface brought up and its packet socket reopened.
    "read", "write", "writev", "readv", "recvmmsg", "sendto", "sendmmsg", "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2", "epoll_ctl", "poll", "ppoll", "bind", "setsockopt", "getsockopt", "close",
    "fcntl",
    // The control socket (its peer's uid from SO_PEERCRED), capture streams
    // (a non-blocking recv tells whether their reader went away).
    "accept", "shutdown", "recvfrom",
    // Files: the next file of a capture ring, the oldest one removed; /proc
    // read for the daemon's own checks; the log on standard output.
    "openat", "newfstatat", "getdents64", "unlink", "unlinkat", "dup2", "dup3",
    // QEMU reaped by its watcher thread.
    "wait4",
    // Capped logs (console, QEMU's messages, hosts' programs) rotated in
    // place through descriptors opened before the drop.
    "pread64", "pwrite64", "ftruncate", "fstat", "lseek",
    // A capture writer reads its file ids before acting as the capture
    // folder's owner; without CAP_SETUID a thread can only set them to an id
    // it already has, so this grants nothing.
    "setfsuid", "setfsgid",
  ]

  /// System calls allowed only with one argument among a few values: the
  /// argument's index and the values.
  public static let allowedWith: [String: (argument: UInt32, values: [UInt64])] = [
    // Datapath sockets: packet sockets, and AF_INET / AF_UNIX ones for interface ioctls.
    "socket": (0, [UInt64(AF_UNIX), UInt64(AF_INET), UInt64(AF_PACKET)]),
    // Interface flags (a returning interface brought up) and index (reopening its socket).
    // FIONREAD: how much a log pipe holds.
    "ioctl": (1, [0x8913, 0x8914, 0x8933, 0x541B]),  // SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFINDEX, FIONREAD
    // Foundation names each thread it starts.
    "prctl": (0, [15, 16]),  // PR_SET_NAME, PR_GET_NAME
    // A QEMU that ignores the power button.
    "kill": (1, [UInt64(SIGTERM), UInt64(SIGKILL)]),
  ]

  /// The listed names this machine's kernel does not know (skipped by
  /// `install`): none on x86-64, where a misspelt name would show here.
  public static var unknownNames: [String] {
    (allowed + allowedWith.keys.sorted()).filter {
      seccomp_syscall_resolve_name($0) == __NR_SCMP_ERROR
    }
  }

  /// Loads the filter into every thread of the process. Needs no_new_privs
  /// (which the drop set) and is for good: no thread can remove or widen it.
  public static func install() throws(LabError) {
    guard let context = seccomp_init(pb_seccomp_fail_with(UInt16(EPERM))) else {
      throw LabError("cannot set up the system call filter (seccomp_init)")
    }
    defer { seccomp_release(context) }
    for name in allowed {
      let number = seccomp_syscall_resolve_name(name)
      guard number != __NR_SCMP_ERROR else { continue }
      let result = seccomp_rule_add_array(context, pb_seccomp_allow(), number, 0, nil)
      guard result == 0 else {
        throw LabError("cannot allow \(name): \(String(cString: strerror(-result)))")
      }
    }
    for (name, rule) in allowedWith {
      let number = seccomp_syscall_resolve_name(name)
      guard number != __NR_SCMP_ERROR else { continue }
      // One rule per value (rules for one call are alternatives); the low 32
      // bits only, as the kernel reads an int or an ioctl's unsigned int.
      for value in rule.values {
        var comparison = scmp_arg_cmp(
          arg: rule.argument, op: SCMP_CMP_MASKED_EQ, datum_a: 0xffff_ffff, datum_b: value)
        let result = seccomp_rule_add_array(context, pb_seccomp_allow(), number, 1, &comparison)
        guard result == 0 else {
          throw LabError("cannot allow \(name): \(String(cString: strerror(-result)))")
        }
      }
    }
    for (attribute, value) in [
      (SCMP_FLTATR_CTL_TSYNC, "every thread"), (SCMP_FLTATR_CTL_LOG, "logging refusals"),
    ] {
      let result = seccomp_attr_set(context, attribute, 1)
      guard result == 0 else {
        throw LabError(
          "cannot set up the system call filter (\(value)): \(String(cString: strerror(-result)))")
      }
    }
    let result = seccomp_load(context)
    guard result == 0 else {
      throw LabError("cannot load the system call filter: \(String(cString: strerror(-result)))")
    }
  }
}
