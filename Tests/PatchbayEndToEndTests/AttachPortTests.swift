import Foundation
import Testing

/// `attach:` ports: a packet socket on an existing interface (a veth whose far
/// end is a namespace the test made, a TAP another process holds open).
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct AttachPortTests {
  /// A namespace `far` behind a veth: `outside` stays in this namespace for the
  /// lab to attach to; the other end is the far host's eth0 at `address`.
  static func makeVethHost(_ outside: String, far: String, address: String) throws {
    try Harness.ip("netns", "add", far)
    try Harness.ip("link", "add", outside, "type", "veth", "peer", "name", "\(outside)p")
    try Harness.ip("link", "set", "\(outside)p", "netns", far)
    try Harness.ip("-n", far, "link", "set", "\(outside)p", "name", "eth0")
    // A fixed MAC, so a re-created far end is the same host to its neighbours.
    try Harness.ip("-n", far, "link", "set", "eth0", "address", "02:00:00:00:99:09")
    try Harness.ip("-n", far, "addr", "add", address, "dev", "eth0")
    try Harness.ip("-n", far, "link", "set", "eth0", "up")
    try Harness.ip("-n", far, "link", "set", "lo", "up")
  }

  static func removeVethHost(_ outside: String, far: String) {
    _ = try? Harness.ip("link", "del", outside)
    _ = try? Harness.ip("netns", "del", far)
  }

  static func yaml(_ lab: String, attach interface: String) -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          far: {attach: \(interface)}
    hosts:
      h1: {port: core/h1, address: 10.0.0.1/24}
    """
  }

  @Test func aHostBehindAVethTalksThroughTheSwitchAndALargeTransferArrivesIntact() throws {
    let lab = "e2att"
    let far = "e2far-att"
    Self.removeVethHost("e2v-att0", far: far)
    try Self.makeVethHost("e2v-att0", far: far, address: "10.0.0.9/24")
    defer { Self.removeVethHost("e2v-att0", far: far) }
    try Harness.withLab(Self.yaml(lab, attach: "e2v-att0"), named: lab) { _ in
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "2", "-W", "2", "10.0.0.9").status == 0)
      let reverse = try Harness.run(
        "/usr/sbin/ip", ["netns", "exec", far, "ping", "-c", "2", "-W", "2", "10.0.0.1"])
      #expect(reverse.status == 0, "\(reverse.output)")
      // TAP port -> attach port: 100 MiB hashed at both ends, superframes and partial checksums.
      let sink = Process()
      sink.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
      sink.arguments = ["netns", "exec", far, "python3", "-c", OffloadTests.tcpSink]
      let output = Pipe()
      sink.standardOutput = output
      try sink.run()
      usleep(500_000)
      let sent = try Harness.exec(
        lab, "h1", "python3", "-c", OffloadTests.tcpSource, "10.0.0.9", "100", timeout: 120)
      sink.waitUntilExit()
      let received = String(
        decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      #expect(sent.output.hasPrefix("104857600 "), "\(sent.output)\(sent.errors)")
      #expect(
        sent.output.trimmingCharacters(in: .whitespacesAndNewlines)
          == received.trimmingCharacters(in: .whitespacesAndNewlines))
      let status = try Harness.status(lab)
      let port = try #require(Harness.port("core/far", in: status))
      #expect(port["kind"] as? String == "attach")
      #expect(port["state"] as? String == "up")
      // Our own transmissions are not read back: what the port received is what the far host sent.
      #expect((port["txBytes"] as? Int ?? 0) > 100 << 20)
      #expect((port["rxBytes"] as? Int ?? 0) < 20 << 20, "\(port)")
    }
  }

  @Test func twoAttachedHostsExchangeALargeTransferIntact() throws {
    // Both ends on packet sockets: frames from a receive batch leave in sendmmsg batches.
    let lab = "e2att2"
    Self.removeVethHost("e2v-a2a", far: "e2far-a2a")
    Self.removeVethHost("e2v-a2b", far: "e2far-a2b")
    try Self.makeVethHost("e2v-a2a", far: "e2far-a2a", address: "10.0.0.21/24")
    try Self.makeVethHost("e2v-a2b", far: "e2far-a2b", address: "10.0.0.22/24")
    // Distinct MACs: makeVethHost gives every far end the same one.
    try Harness.ip("-n", "e2far-a2b", "link", "set", "eth0", "address", "02:00:00:00:99:0b")
    defer {
      Self.removeVethHost("e2v-a2a", far: "e2far-a2a")
      Self.removeVethHost("e2v-a2b", far: "e2far-a2b")
    }
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            a: {attach: e2v-a2a}
            b: {attach: e2v-a2b}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let ping = try Harness.run(
        "/usr/sbin/ip", ["netns", "exec", "e2far-a2a", "ping", "-c", "2", "-W", "2", "10.0.0.22"])
      #expect(ping.status == 0, "\(ping.output)")
      let sink = Process()
      sink.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
      sink.arguments = ["netns", "exec", "e2far-a2b", "python3", "-c", OffloadTests.tcpSink]
      let output = Pipe()
      sink.standardOutput = output
      try sink.run()
      usleep(500_000)
      let sent = try Harness.run(
        "/usr/sbin/ip",
        ["netns", "exec", "e2far-a2a", "python3", "-c", OffloadTests.tcpSource, "10.0.0.22", "50"],
        timeout: 120)
      sink.waitUntilExit()
      let received = String(
        decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      #expect(sent.output.hasPrefix("52428800 "), "\(sent.output)\(sent.errors)")
      #expect(
        sent.output.trimmingCharacters(in: .whitespacesAndNewlines)
          == received.trimmingCharacters(in: .whitespacesAndNewlines))
      let status = try Harness.status(lab)
      let b = try #require(Harness.port("core/b", in: status))
      #expect((b["txBytes"] as? Int ?? 0) > 50 << 20, "\(b)")
      #expect((b["drops"] as? [String: Int] ?? [:]).isEmpty, "\(b)")
    }
  }

  @Test func removingAndRecreatingTheInterfaceTakesThePortDownAndUp() throws {
    let lab = "e2attd"
    let far = "e2far-attd"
    Self.removeVethHost("e2v-attd0", far: far)
    try Self.makeVethHost("e2v-attd0", far: far, address: "10.0.0.9/24")
    defer { Self.removeVethHost("e2v-attd0", far: far) }
    try Harness.withLab(Self.yaml(lab, attach: "e2v-attd0"), named: lab) { _ in
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.9").status == 0)
      Self.removeVethHost("e2v-attd0", far: far)
      var state: String?
      for _ in 0..<50 {
        state = Harness.port("core/far", in: try Harness.status(lab))?["state"] as? String
        if state == "down" { break }
        usleep(100_000)
      }
      #expect(state == "down")
      let downs = Harness.port("core/far", in: try Harness.status(lab))?["linkDowns"] as? Int
      #expect(downs == 1)
      // h1 keeps working meanwhile.
      #expect(try Harness.exec(lab, "h1", "ip", "link", "show", "eth0").status == 0)

      try Self.makeVethHost("e2v-attd0", far: far, address: "10.0.0.9/24")
      for _ in 0..<50 {
        state = Harness.port("core/far", in: try Harness.status(lab))?["state"] as? String
        if state == "up" { break }
        usleep(100_000)
      }
      #expect(state == "up")
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "2", "-W", "2", "10.0.0.9").status == 0)
    }
  }

  @Test func aTAPHeldOpenByAnotherProcessTalksThroughTheSwitch() throws {
    let lab = "e2attq"
    // Stands in for QEMU: holds the TAP open, sends a frame every 100 ms into
    // it, and counts the frames the switch delivers to it from h1, until its
    // standard input is closed (a fixed lifetime would race a loaded machine).
    let vm = """
      import fcntl, os, select, struct, sys, time
      fd = os.open("/dev/net/tun", os.O_RDWR)
      fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0002 | 0x1000))
      frame = bytes.fromhex("ffffffffffff" "0200000000f1" "88b5") + b"from the vm".ljust(46, b"\\0")
      seen = 0; last = 0; mac = bytes.fromhex(sys.argv[2].replace(":", ""))
      while True:
          if time.time() - last > 0.1:
              last = time.time()
              try:
                  os.write(fd, frame)
              except OSError:
                  pass  # EIO until the switch brings the interface up
          r, _, _ = select.select([fd, sys.stdin], [], [], 0.05)
          if sys.stdin in r and not sys.stdin.read(1):
              break
          if fd in r:
              data = os.read(fd, 65536)
              if data[6:12] == mac: seen += 1
      print("seen", seen, flush=True)
      """
    try? Harness.ip("link", "del", "e2vnet-q")
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let h1MAC = "02:00:00:00:77:01"
    holder.arguments = ["python3", "-c", vm, "e2vnet-q", h1MAC]
    let output = Pipe()
    let input = Pipe()
    holder.standardOutput = output
    holder.standardInput = input
    try holder.run()
    defer {
      if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
      _ = try? Harness.ip("link", "del", "e2vnet-q")
    }
    for _ in 0..<50 where !FileManager.default.fileExists(atPath: "/sys/class/net/e2vnet-q") {
      usleep(100_000)
    }
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            vm: {attach: e2vnet-q}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24, mac: \(h1MAC)}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let capture = try Capture(
        namespace: "\(lab)-h1", filter: ["ether", "src", "02:00:00:00:00:f1"])
      // h1 broadcasts (ARP for an address nobody has): the switch floods them to the VM's TAP.
      _ = try Harness.exec(lab, "h1", "ping", "-c", "3", "-i", "0.3", "-W", "1", "10.0.0.50")
      let fromVM = try capture.stop()
      #expect(fromVM.count >= 3, "h1 should see the VM's broadcasts: \(fromVM.count)")
      let table = try Harness.fdb(lab)
      #expect(
        table.contains {
          $0["mac"] as? String == "02:00:00:00:00:f1" && $0["port"] as? String == "vm"
        })
      // When the VM's process exits its TAP goes away: only that port goes down.
      try input.fileHandleForWriting.close()
      holder.waitUntilExit()
      let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      let seen = text.split(separator: "\n").last.flatMap {
        Int($0.split(separator: " ").last ?? "")
      }
      #expect((seen ?? 0) >= 2, "the VM should receive h1's broadcasts: \(text)")
      var state: String?
      for _ in 0..<30 {
        state = Harness.port("core/vm", in: try Harness.status(lab))?["state"] as? String
        if state == "down" { break }
        usleep(100_000)
      }
      #expect(state == "down")
      #expect(Harness.port("core/h1", in: try Harness.status(lab))?["state"] as? String == "up")
    }
  }
}
