import Testing

@testable import PatchbayLab

struct SystemCallFilterTests {
  #if arch(x86_64)
    /// `install` skips names the kernel does not know, so a misspelt one
    /// would silently leave a call the daemon needs refused.
    @Test func everyListedSystemCallExistsOnX86_64() {
      #expect(SystemCallFilter.unknownNames.isEmpty, "\(SystemCallFilter.unknownNames)")
    }
  #endif

  @Test func whatTheDaemonGaveUpIsNotListed() {
    let listed = Set(SystemCallFilter.allowed + SystemCallFilter.allowedWith.keys)
    for call in [
      "execve", "execveat", "fork", "vfork", "clone", "connect", "ptrace", "mount", "setns",
      "unshare", "setresuid", "setuid", "setgroups", "capset", "bpf", "init_module", "seccomp",
    ] {
      #expect(!listed.contains(call), "\(call)")
    }
  }
}
