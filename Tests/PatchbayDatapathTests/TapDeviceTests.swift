import CLinuxNet
import Foundation
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// True when TAPs can be made here; tests that need it skip loudly otherwise.
let canMakeInterfaces: Bool = {
  let allowed = geteuid() == 0 && FileManager.default.fileExists(atPath: "/dev/net/tun")
  if !allowed {
    FileHandle.standardError.write(
      Data(
        "WARNING: PatchbayDatapathTests that create TAPs are SKIPPED: they need root (CAP_NET_ADMIN)\n"
          .utf8))
  }
  return allowed
}()

func sysfs(_ interface: String, _ attribute: String) -> String? {
  (try? String(contentsOfFile: "/sys/class/net/\(interface)/\(attribute)", encoding: .utf8))?
    .trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite(.serialized, .enabled(if: canMakeInterfaces, "needs root with CAP_NET_ADMIN"))
struct TapDeviceTests {
  @Test func aTAPWithoutOffloadsKeepsItsHeadersButTakesNoOffloads() throws {
    let plain = try TapDevice.create(named: "pbtest-tapo0", offloads: false)
    defer { plain.close() }
    let offloading = try TapDevice.create(named: "pbtest-tapo1")
    defer { offloading.close() }
    // With offloads the kernel takes at least checksum offload; without, nothing.
    #expect(plain.offloads == 0)
    #expect(offloading.offloads & UInt32(PB_TUN_F_CSUM) != 0)
  }

  @Test func createSetAndCloseRemovesTheInterface() throws {
    let name = "pbtest-tap0"
    let tap = try TapDevice.create(named: name)
    #expect(tap.interfaceName == name)
    #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(name)"))
    try tap.setMTU(9000)
    try tap.setMAC(MACAddress("02:00:00:aa:bb:cc")!)
    try tap.setUp()
    #expect(sysfs(name, "mtu") == "9000")
    #expect(sysfs(name, "address") == "02:00:00:aa:bb:cc")
    #expect(sysfs(name, "flags").flatMap { Int($0.dropFirst(2), radix: 16) }.map { $0 & 1 } == 1)
    tap.close()
    tap.close()  // idempotent
    #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(name)"))
  }

  @Test func anExistingNameIsRefusedNotShared() throws {
    let name = "pbtest-tap1"
    let first = try TapDevice.create(named: name)
    defer { first.close() }
    #expect {
      _ = try TapDevice.create(named: name)
    } throws: { error in
      (error as? SystemCallError)?.description == "create TAP pbtest-tap1: File exists"
    }
  }

  @Test func anMTUAboveTheTAPLimitIsAnInvalidArgument() throws {
    let tap = try TapDevice.create(named: "pbtest-tap2")
    defer { tap.close() }
    #expect {
      try tap.setMTU(65535)
    } throws: { error in
      (error as? SystemCallError)?.errno == .invalidArgument
    }
  }
}
