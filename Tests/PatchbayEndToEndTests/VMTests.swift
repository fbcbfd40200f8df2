import Foundation
import Testing

/// Where the test guest is.
enum TestGuest {
  /// The test guest's directory: $PATCHBAY_GUEST_IMAGE, else `.build-guest/guest`.
  static let directory: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let directory =
      ProcessInfo.processInfo.environment["PATCHBAY_GUEST_IMAGE"]
      ?? root.appendingPathComponent(".build-guest/guest").path
    let complete = ["vmlinuz", "initrd.img"].allSatisfy {
      FileManager.default.fileExists(atPath: "\(directory)/\($0)")
    }
    if !complete {
      print("VMTests: WARNING: no test guest in \(directory): VM tests SKIP")
    }
    return complete ? directory : nil
  }()
}

/// QEMU guests in a lab, booted from the test guest (`Scripts/guest-image`:
/// a Debian kernel and a busybox init that configures eth0, pings and
/// fetches what its kernel command line says, and prints `PATCHBAY-...`
/// lines on the serial console). Two VMs, a namespace host and a NAT uplink
/// whose upstream is the lab's own `up` host (198.18.9.1): nothing leaves
/// namespaces the lab made. v1 asks for TCG; v2 takes the default, which is
/// TCG too unless the machine has hardware KVM (here /dev/kvm is PVM, where a
/// distribution kernel hangs).
@Suite(
  .serialized,
  .enabled(
    if: Harness.canRunLabs && TestGuest.directory != nil,
    "needs root with CAP_NET_ADMIN and the test guest: Scripts/guest-image .build-guest/guest"))
struct VMTests {
  static let lab = "e2vms"
  static let upstream = "198.18.9.1"

  /// v1 has a fixed address and pings v2 and h1; v2 takes the DHCP range's
  /// only address, pings v1 and h1 and fetches the upstream page through NAT.
  static var topology: String {
    let guest = TestGuest.directory ?? ""
    return """
      name: \(lab)
      switches:
        core:
          ports:
            v1: {}
            v2: {}
            h1: {}
            gw: {uplink: wan}
      hosts:
        h1: {port: core/h1, address: 10.0.9.1/24, gateway: 10.0.9.254}
        up:
          veth: \(lab)-wan
          address: \(upstream)/24
          run: >-
            mkdir -p site && echo upstream-page-for-vms > site/index.html &&
            exec python3 -m http.server 80 --bind \(upstream) --directory site
      uplinks:
        wan:
          mode: nat
          interface: \(lab)-wan
          address: 198.18.9.10/24
          gateway: \(upstream)
          inside: 10.0.9.254/24
          dhcp: {range: 10.0.9.100-10.0.9.100, lease: 1h}
          dns: \(upstream)
      vms:
        v1:
          port: core/v1
          kernel: \(guest)/vmlinuz
          initrd: \(guest)/initrd.img
          accel: tcg
          append: "quiet pb.name=v1 pb.ip=10.0.9.11/24 pb.gw=10.0.9.254 pb.ping=10.0.9.100,10.0.9.1"
        v2:
          port: core/v2
          kernel: \(guest)/vmlinuz
          initrd: \(guest)/initrd.img
          append: "quiet pb.name=v2 pb.ping=10.0.9.11,10.0.9.1 pb.fetch=http://\(upstream)/"
      """
  }

  /// The console log of `vm` once it holds `marker` (or whatever it has after `timeout`).
  static func console(
    _ vm: String, until marker: String, timeout: Double = 150, lab: String = lab
  ) -> String {
    let path = "/run/patchbay/\(lab)/\(vm).console"
    let deadline = Date().addingTimeInterval(timeout)
    var text = ""
    while Date() < deadline {
      text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      if text.contains(marker) { break }
      usleep(250_000)
    }
    return text
  }

  /// Brings up lab `lab`, detached: one switch whose ports are named after
  /// the VMs (and `extraPorts`), and the VMs as `NAME: {SETTINGS}` on the
  /// port of their name unless their settings name `ports`, with the test
  /// guest's kernel and initrd unless they name a kernel. Returns `up`'s
  /// result; the caller cleans up with `Harness.forceClean`.
  static func upSmallLab(
    _ lab: String, vms: [(name: String, settings: String)], extraPorts: [String] = []
  ) throws -> Harness.Result {
    let guest = TestGuest.directory ?? ""
    let ports = (vms.map(\.name) + extraPorts).map { "      \($0): {}" }
      .joined(separator: "\n")
    let entries = vms.map { vm in
      let port = vm.settings.contains("ports:") ? "" : "port: core/\(vm.name), "
      let boot =
        vm.settings.contains("kernel:")
        ? "" : "kernel: \(guest)/vmlinuz, initrd: \(guest)/initrd.img, "
      return "  \(vm.name): {\(port)\(boot)accel: tcg, \(vm.settings)}"
    }.joined(separator: "\n")
    let yaml = "name: \(lab)\nswitches:\n  core:\n    ports:\n\(ports)\nvms:\n\(entries)\n"
    Harness.forceClean(lab)
    return try Harness.patchbay("up", try Harness.topologyFile(yaml, name: lab), "--detach")
  }

  /// `status --json`'s entry for `vm`.
  static func vm(_ name: String) throws -> [String: Any]? {
    (try Harness.status(lab)["vms"] as? [[String: Any]])?.first { $0["name"] as? String == name }
  }

  @Test func twoVMsTalkToEachOtherAHostAndUpstreamAndOneCrashTakesOnlyItsPortDown() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      // Both guests boot, configure eth0 (v2 by DHCP from the NAT uplink), ping and fetch.
      let first = Self.console("v1", until: "PATCHBAY-DONE")
      let second = Self.console("v2", until: "PATCHBAY-DONE")
      #expect(first.contains("PATCHBAY-UP eth0 10.0.9.11/24"), "\(first.suffix(1500))")
      #expect(first.contains("PATCHBAY-PING 10.0.9.100 ok"), "v1 -> v2: \(first.suffix(1500))")
      #expect(first.contains("PATCHBAY-PING 10.0.9.1 ok"), "v1 -> h1: \(first.suffix(1500))")
      #expect(second.contains("PATCHBAY-UP eth0 10.0.9.100/24"), "\(second.suffix(1500))")
      #expect(second.contains("PATCHBAY-PING 10.0.9.11 ok"), "v2 -> v1: \(second.suffix(1500))")
      #expect(second.contains("PATCHBAY-PING 10.0.9.1 ok"), "v2 -> h1: \(second.suffix(1500))")
      #expect(
        second.contains("PATCHBAY-FETCH http://\(Self.upstream)/ ok")
          && second.contains("upstream-page-for-vms"),
        "v2 fetch through NAT: \(second.suffix(1500))")
      for address in ["10.0.9.11", "10.0.9.100"] {
        let ping = try Harness.exec(Self.lab, "h1", "ping", "-c", "3", "-W", "2", address)
        #expect(ping.output.contains(" 0% packet loss"), "h1 -> \(address): \(ping.output)")
      }
      // The lease is v2's, under its derived MAC.
      let v2 = try #require(try Self.vm("v2"))
      let leases = try UplinkTests.nat(Self.lab)["leases"] as? [[String: Any]] ?? []
      #expect(
        leases.contains {
          $0["mac"] as? String == v2["mac"] as? String && $0["address"] as? String == "10.0.9.100"
        },
        "\(leases)")

      // A capture on v1's port shows what v1 sends: its replies to h1, from its MAC.
      let directory = try CaptureTests.directory()
      defer { try? FileManager.default.removeItem(at: directory) }
      let file = directory.appendingPathComponent("v1.pcapng").path
      let capture = try CaptureTests.startCapture(
        ["core/v1", "-f", "icmp"], file: file, lab: Self.lab)
      let ping = try Harness.exec(Self.lab, "h1", "ping", "-c", "3", "-W", "2", "10.0.9.11")
      #expect(ping.status == 0, "\(ping.output)")
      usleep(300_000)
      #expect(capture.finish().status == 0)
      let replies = try CaptureTests.tshark(
        file, ["eth.src", "ip.src", "ip.dst"], filter: "icmp.type == 0")
      let descriptions = try CaptureTests.tshark(file, ["frame.interface_description"])
      #expect(
        descriptions.first == ["Patchbay lab \(Self.lab), tap \(Self.lab)-v1, vm v1, access 1"])
      let v1 = try #require(try Self.vm("v1"))
      #expect(
        replies.count == 3
          && replies.allSatisfy { $0 == [v1["mac"] as? String ?? "", "10.0.9.11", "10.0.9.1"] },
        "\(replies)")

      // `console --no-follow` prints what the console logged.
      let console = try Harness.patchbay("console", Self.lab, "v1", "--no-follow")
      #expect(console.status == 0 && console.output.contains("PATCHBAY-UP eth0 10.0.9.11/24"))
      // `console` follows new output; `console -i` types into the guest's shell.
      let follower = try Background(Harness.binary, ["console", Self.lab, "v1"])
      let typed = try Harness.run(
        "/bin/sh",
        [
          "-c",
          "(sleep 1; echo 'echo FOLLOW-$((6*7))'; sleep 4) | \(Harness.binary) console \(Self.lab) v1 -i",
        ],
        timeout: 20)
      #expect(
        typed.status == 0 && typed.output.contains("FOLLOW-42"), "\(typed.output.suffix(500))")
      // SIGKILL: a child of Foundation's Process starts with SIGINT blocked.
      let followed = String(decoding: follower.finish(signal: SIGKILL).output, as: UTF8.self)
      #expect(followed.contains("PATCHBAY-UP eth0 10.0.9.11/24"))
      #expect(followed.contains("FOLLOW-42"), "\(followed.suffix(500))")
      let unknown = try Harness.patchbay("console", Self.lab, "v9")
      #expect(unknown.status == 1)
      #expect(
        unknown.errors == "patchbay: error: lab \(Self.lab) has no vm 'v9' (vms: v1, v2)\n",
        "\(unknown.errors)")

      // Killing v2's QEMU takes its port down, counted and shown; v1 and h1 go on.
      #expect(v1["state"] as? String == "running" && v2["state"] as? String == "running")
      let pid = try #require(v2["pid"] as? Int)
      #expect(kill(Int32(pid), SIGKILL) == 0)
      var state: String?
      for _ in 0..<100 {
        state = try Self.vm("v2")?["state"] as? String
        if state == "exited (signal 9)" { break }
        usleep(100_000)
      }
      #expect(state == "exited (signal 9)")
      let status = try Harness.status(Self.lab)
      #expect(Harness.port("core/v2", in: status)?["state"] as? String == "down")
      #expect(Harness.port("core/v2", in: status)?["linkDowns"] as? Int == 1)
      for other in ["core/v1", "core/h1"] {
        #expect(Harness.port(other, in: status)?["state"] as? String == "up", "\(other)")
        #expect(Harness.port(other, in: status)?["linkDowns"] as? Int == 0, "\(other)")
      }
      #expect(try Self.vm("v1")?["state"] as? String == "running")
      let stillTalking = try Harness.exec(
        Self.lab, "h1", "ping", "-c", "10", "-i", "0.2", "-W", "2", "10.0.9.11")
      #expect(stillTalking.output.contains(" 0% packet loss"), "\(stillTalking.output)")
      let gone = try Harness.exec(Self.lab, "h1", "ping", "-c", "2", "-W", "1", "10.0.9.100")
      #expect(gone.status != 0, "v2 is gone: \(gone.output)")
      // `down` (in withLab) powers v1 off and leaves no QEMU, TAP or namespace.
    }
  }

  @Test func aVMThatCannotStartFailsUpAndLeavesNothing() throws {
    let lab = "e2vmbad"
    defer { Harness.forceClean(lab) }
    let started = Date()
    // /bin/true exists and is readable, so only QEMU can tell it is no kernel.
    let up = try Self.upSmallLab(lab, vms: [("v1", ""), ("v2", "kernel: /bin/true")])
    #expect(up.status == 1)
    #expect(
      up.errors
        == "patchbay: error: vm v2: QEMU exited at start: Error loading uncompressed kernel without PVH ELF Note\n",
      "\(up.errors)")
    // v1 had started: it is ended without waiting for a power button it cannot have yet.
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
  }

  @Test func aGuestThatIgnoresThePowerButtonIsEndedAfterItsStopTimeout() throws {
    let lab = "e2vmhang"
    defer { Harness.forceClean(lab) }
    // rdinit=/bin/sh: a shell as init, with nobody listening for the ACPI button.
    let up = try Self.upSmallLab(lab, vms: [("v1", "append: rdinit=/bin/sh, stop-timeout: 2s")])
    try #require(up.status == 0, "\(up.errors)")
    _ = VMTests.console("v1", until: "/ #", timeout: 60, lab: lab)
    let started = Date()
    let down = try Harness.patchbay("down", lab)
    let took = Date().timeIntervalSince(started)
    #expect(down.status == 0, "\(down.errors)")
    // The power button, 2 s of waiting, then SIGTERM, which QEMU obeys at once.
    #expect(took >= 2 && took < 8, "down took \(took) s")
    #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
  }

  @Test func aVMWithTwoNICsAndAKilledDaemonsJanitorEndingItsQEMU() throws {
    let lab = "e2vmkill"
    defer { Harness.forceClean(lab) }
    let up = try Self.upSmallLab(
      lab, vms: [("v1", "ports: [core/v1, core/v1b]")], extraPorts: ["v1b"])
    try #require(up.status == 0, "\(up.errors)")
    #expect(Harness.qemuProcesses(of: lab).count == 1)
    // QEMU holds both TAPs (a TAP has carrier while a queue is attached), one
    // virtio NIC each, the second with its own derived MAC.
    for tap in ["\(lab)-v1", "\(lab)-v1b"] {
      let carrier = try String(contentsOfFile: "/sys/class/net/\(tap)/carrier", encoding: .utf8)
      #expect(carrier.hasPrefix("1"), "\(tap)")
    }
    let pid = try #require(Harness.qemuProcesses(of: lab).first)
    let command = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
    #expect(command.contains("ifname=\(lab)-v1,") && command.contains("ifname=\(lab)-v1b,"))
    #expect(command.contains("netdev=net1,mac=52:54:00:"))
    let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
    let daemon = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    #expect(kill(daemon, SIGKILL) == 0)
    var left = Harness.leftovers(of: lab)
    for _ in 0..<100 where !left.isEmpty {
      usleep(100_000)
      left = Harness.leftovers(of: lab)
    }
    #expect(left.isEmpty, "left behind by a killed daemon: \(left)")
  }
}
