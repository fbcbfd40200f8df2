import Foundation

/// True when the lab tests that make interfaces can run here (root, /dev/net/tun);
/// they skip loudly otherwise, and `Scripts/test` fails a skip as root.
let canMakeInterfaces: Bool = {
  let allowed = geteuid() == 0 && FileManager.default.fileExists(atPath: "/dev/net/tun")
  if !allowed {
    FileHandle.standardError.write(
      Data("WARNING: PatchbayLabTests that create interfaces are SKIPPED: they need root\n".utf8))
  }
  return allowed
}()
