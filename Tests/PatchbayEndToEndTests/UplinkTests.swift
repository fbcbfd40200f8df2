import Foundation
import Testing

/// NAT uplinks end to end. The "physical NIC" is the root-namespace end of a
/// veth pair whose far end is the lab's own `up` host (upstream router, web,
/// DNS and echo server at 198.18.8.1): nothing is sent anywhere else.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct UplinkTests {
  static let lab = "e2nat"
  static let upstream = "198.18.8.1"
  static let natAddress = "198.18.8.10"
  static let flows = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Support/flows.py").path

  /// Two fixed hosts, two DHCP hosts, and upstream: dnsmasq answering
  /// www.lab.test, a web server, UDP and TCP echo servers.
  static let topology = """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          h2: {}
          h3: {}
          h4: {}
          gw: {uplink: wan}
    hosts:
      h1: {port: core/h1, address: 10.0.8.1/24, gateway: 10.0.8.254}
      h2: {port: core/h2, address: 10.0.8.2/24, gateway: 10.0.8.254}
      h3: {port: core/h3, address: dhcp}
      h4: {port: core/h4, address: dhcp}
      up:
        veth: \(lab)-wan
        address: \(upstream)/24
        run: >-
          mkdir -p site && echo upstream-page > site/index.html;
          dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --bind-interfaces
          --listen-address=\(upstream) --address=/www.lab.test/\(upstream) &
          python3 \(flows) udp-server \(upstream) 7000 &
          python3 \(flows) tcp-server \(upstream) 7001 &
          exec python3 -m http.server 80 --bind \(upstream) --directory site
    uplinks:
      wan:
        mode: nat
        interface: \(lab)-wan
        address: \(natAddress)/24
        gateway: \(upstream)
        inside: 10.0.8.254/24
        dhcp: {range: 10.0.8.100-10.0.8.150, lease: 1h}
        dns: \(upstream)
        forward: ["tcp 8080 -> h1:80"]
    """

  /// `patchbay nat LAB --json`, the one uplink.
  static func nat(_ lab: String = lab) throws -> [String: Any] {
    let result = try Harness.patchbay("nat", lab, "--json")
    try #require(result.status == 0, "nat failed: \(result.errors)")
    let uplinks = try #require(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
    return try #require(uplinks.first)
  }

  /// Waits until `host` answers on TCP `port` (servers started by `run:` need a moment;
  /// a Python server on a loaded two-core machine has taken over 5 s to listen).
  static func waitForServer(_ host: String, _ address: String, _ port: Int) throws {
    for _ in 0..<150 {
      let probe = try Harness.exec(
        lab, host, "python3", "-c",
        "import socket; socket.create_connection(('\(address)', \(port)), timeout=1)")
      if probe.status == 0 { return }
      usleep(100_000)
    }
    Issue.record("nothing listens on \(address):\(port)")
  }

  /// The IPv4 source and destination of each captured (untagged) frame.
  static func addresses(_ frames: [[UInt8]]) -> [(source: String, destination: String)] {
    frames.filter { $0.count >= 34 && $0[12] == 0x08 && $0[13] == 0x00 }.map { frame in
      (
        frame[26..<30].map(String.init).joined(separator: "."),
        frame[30..<34].map(String.init).joined(separator: ".")
      )
    }
  }

  @Test func labHostsReachTheUpstreamServerAndItSeesOnlyTheNATAddress() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      try Self.waitForServer("h1", Self.upstream, 80)
      let capture = try Capture(namespace: "\(Self.lab)-up", filter: ["ip"])
      let ping = try Harness.exec(Self.lab, "h1", "ping", "-c", "2", "-W", "2", Self.upstream)
      #expect(ping.status == 0, "ping through NAT failed: \(ping.output)")
      let page = try Harness.exec(
        Self.lab, "h2", "curl", "-s", "-m", "5", "http://\(Self.upstream)/")
      #expect(
        page.output.contains("upstream-page"), "curl through NAT: \(page.output) \(page.errors)")
      // A name resolved through the router's DNS relay (the lab's gateway address).
      let lookup = try Harness.exec(
        Self.lab, "h1", "busybox", "nslookup", "www.lab.test", "10.0.8.254")
      #expect(lookup.output.contains(Self.upstream), "DNS relay: \(lookup.output) \(lookup.errors)")
      // A UDP datagram to a closed port comes back as ICMP port unreachable, translated.
      let refused = try Harness.exec(
        Self.lab, "h2", "python3", Self.flows, "udp-refused", Self.upstream, "9")
      #expect(refused.output.contains("refused"), "ICMP error: \(refused.output)")
      let seen = Self.addresses(try capture.stop())
      let sources = Set(seen.map(\.source))
      #expect(sources.contains(Self.natAddress), "upstream saw: \(seen.prefix(5))")
      #expect(sources.isSubset(of: [Self.natAddress, Self.upstream]), "upstream saw \(sources)")
      #expect(
        !seen.contains { $0.source.hasPrefix("10.0.8.") || $0.destination.hasPrefix("10.0.8.") },
        "a lab address leaked upstream")
      let nat = try Self.nat()
      let counters = nat["counters"] as? [String: Any] ?? [:]
      #expect((counters["icmp-errors-translated"] as? Int ?? 0) >= 1)
    }
  }

  @Test func anUnsolicitedPacketFromUpstreamReachesNoLabHost() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      // Upstream even routes the lab's subnet to the NAT: still nothing gets in.
      try Harness.exec(Self.lab, "up", "ip", "route", "add", "10.0.8.0/24", "via", Self.natAddress)
      let capture = try Capture(namespace: "\(Self.lab)-h1", filter: ["ip"])
      _ = try Harness.exec(Self.lab, "up", "ping", "-c", "2", "-W", "1", "10.0.8.1")
      _ = try Harness.exec(
        Self.lab, "up", "python3", "-c",
        """
        import socket
        for port in (22, 53, 80, 40000):
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('\(Self.natAddress)', port))
            s = socket.socket(); s.settimeout(0.5)
            try: s.connect(('\(Self.natAddress)', port))
            except OSError: pass
        """)
      usleep(300_000)
      let seen = Self.addresses(try capture.stop())
      #expect(seen.isEmpty, "h1 received unsolicited traffic: \(seen)")
      let drops = try Self.nat()["drops"] as? [String: Any] ?? [:]
      #expect((drops["unsolicited"] as? Int ?? 0) >= 8, "drops: \(drops)")
    }
  }

  @Test func aPortForwardLetsUpstreamReachAWebServerOnH1() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      let server = Process()
      server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
      server.arguments = [
        "netns", "exec", "\(Self.lab)-h1", "python3", "-m", "http.server", "80", "--bind",
        "10.0.8.1", "--directory", "/proc/self",
      ]
      server.standardOutput = FileHandle.nullDevice
      server.standardError = FileHandle.nullDevice
      try server.run()
      defer {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
      }
      try Self.waitForServer("h1", "10.0.8.1", 80)
      let fetched = try Harness.exec(
        Self.lab, "up", "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
        "http://\(Self.natAddress):8080/")
      #expect(fetched.output == "200", "forward: \(fetched.output) \(fetched.errors)")
      let sessions = try Self.nat()["sessions"] as? [[String: Any]] ?? []
      #expect(
        sessions.contains {
          $0["forwarded"] as? Bool == true && $0["inside"] as? String == "10.0.8.1:80"
        }, "sessions: \(sessions)")
    }
  }

  @Test func dhcpHandsOutDistinctAddressesAndRenewsThem() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      func address(of host: String) throws -> String {
        let shown = try Harness.exec(
          Self.lab, host, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
        let words = shown.output.split(separator: " ")
        let index = try #require(words.firstIndex(of: "inet"), "no address on \(host)")
        return String(words[index + 1])
      }
      let h3 = try address(of: "h3")
      let h4 = try address(of: "h4")
      #expect(h3 != h4)
      for address in [h3, h4] {
        #expect(address.hasPrefix("10.0.8.1") && address.hasSuffix("/24"), "\(address)")
        let last = Int(address.split(separator: "/")[0].split(separator: ".")[3]) ?? 0
        #expect((100...150).contains(last), "\(address) outside the range")
      }
      // The default route came with the lease, so the DHCP host reaches upstream too.
      try Self.waitForServer("h3", Self.upstream, 80)
      // SIGUSR1 makes udhcpc renew now (a REQUEST from its bound address),
      // rather than at half the lease.
      // The lab's clients are the ones running its own event script.
      let signalled = try Harness.run(
        "/usr/bin/pkill", ["-USR1", "-f", "/run/patchbay/\(Self.lab)/udhcpc.script"])
      #expect(signalled.status == 0, "no udhcpc to signal")
      var grants: [Int] = []
      for _ in 0..<30 {
        let leases = try Self.nat()["leases"] as? [[String: Any]] ?? []
        grants = leases.map { $0["grants"] as? Int ?? 0 }
        if leases.count == 2 && grants.allSatisfy({ $0 >= 2 }) { break }
        usleep(200_000)
      }
      #expect(grants.count == 2 && grants.allSatisfy { $0 >= 2 }, "grants: \(grants)")
      #expect(try address(of: "h3") == h3 && address(of: "h4") == h4, "renewal changed an address")
    }
  }

  @Test func iperf3ThroughNATReachesFourFifthsOfSwitchOnlyThroughput() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      var best: (local: Double, nat: Double) = (0, 0)
      for _ in 0..<2 {
        let local = try Iperf.measure(
          Self.lab, from: "h1", to: "h2", address: "10.0.8.2", seconds: 4)
        let nat = try Iperf.measure(
          Self.lab, from: "h1", to: "up", address: Self.upstream, seconds: 4)
        print(
          "iperf3 switch-only \(local.bitsPerSecond / 1e9) Gbit/s, through NAT \(nat.bitsPerSecond / 1e9) Gbit/s"
        )
        best = (max(best.local, local.bitsPerSecond), max(best.nat, nat.bitsPerSecond))
        if best.nat >= 0.8 * best.local { break }
      }
      #expect(best.nat >= 0.8 * best.local, "NAT \(best.nat / 1e9) vs switch \(best.local / 1e9)")
    }
  }

  @Test func tenThousandUDPFlowsAndAThousandTCPConnectionsAreAllTracked() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      try Self.waitForServer("h4", Self.upstream, 7001)
      var clients: [(String, Process, Pipe)] = []
      for (host, mode, count) in [
        ("h1", "udp-clients", 4000), ("h2", "udp-clients", 3000), ("h3", "udp-clients", 3000),
        ("h1", "tcp-clients", 500), ("h2", "tcp-clients", 500),
      ] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = [
          "netns", "exec", "\(Self.lab)-\(host)", "python3", Self.flows, mode, Self.upstream,
          mode == "udp-clients" ? "7000" : "7001", "\(count)",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        clients.append(("\(host) \(mode)", process, output))
      }
      for (name, process, output) in clients {
        let text = String(
          decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        let counts = parts.last?.split(separator: "/") ?? []
        #expect(counts.count == 2 && counts[0] == counts[1], "\(name): \(text)")
      }
      let nat = try Self.nat()
      let sessions = nat["sessions"] as? [[String: Any]] ?? []
      let h4Address =
        try Harness.exec(Self.lab, "h4", "ip", "-4", "-o", "addr", "show", "dev", "eth0")
        .output.split(separator: " ").drop { $0 != "inet" }.dropFirst().first
        .map { String($0.split(separator: "/")[0]) } ?? "-"
      // The clients' sessions: h4 only probed the TCP server.
      func flows(_ transport: String, _ port: Int) -> [[String: Any]] {
        sessions.filter {
          $0["transport"] as? String == transport
            && $0["remote"] as? String == "\(Self.upstream):\(port)"
            && !($0["inside"] as? String ?? "").hasPrefix(h4Address + ":")
        }
      }
      let udp = flows("udp", 7000)
      let tcp = flows("tcp", 7001)
      #expect(udp.count == 10_000, "udp sessions tracked: \(udp.count)")
      #expect(tcp.count == 1_000, "tcp sessions tracked: \(tcp.count)")
      #expect(udp.allSatisfy { $0["state"] as? String == "replied" })
      let counters = nat["counters"] as? [String: Any] ?? [:]
      #expect(counters["sessions-evicted"] as? Int == 0)
    }
  }

  @Test func aFullSessionTableEvictsTheOldestAndCountsIt() throws {
    let lab = "e2evict"
    let yaml = Self.topology.replacingOccurrences(of: Self.lab, with: lab)
      .replacingOccurrences(of: "forward: [\"tcp 8080 -> h1:80\"]", with: "max-sessions: 16")
    try Harness.withLab(yaml, named: lab) { _ in
      for _ in 0..<50
      where (try? Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "1", Self.upstream))?.status != 0
      {
        usleep(100_000)
      }
      let sent = try Harness.exec(
        lab, "h1", "python3", "-c",
        """
        import socket
        for _ in range(40):
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('\(Self.upstream)', 7000))
        """)
      #expect(sent.status == 0)
      usleep(300_000)
      let nat = try Self.nat(lab)
      let counters = nat["counters"] as? [String: Any] ?? [:]
      #expect((nat["sessions"] as? [Any])?.count == 16)
      #expect((counters["sessions-evicted"] as? Int ?? 0) >= 24, "counters: \(counters)")
    }
  }

  @Test func theQuickstartFetchesAPageFromItsOwnInternetThroughNAT() throws {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Topologies/quickstart.yaml").path
    let yaml = try String(contentsOfFile: file, encoding: .utf8)
    try Harness.withLab(yaml, named: "quickstart") { _ in
      var page = ""
      for _ in 0..<50 where !page.contains("hello from the internet") {
        page = try Harness.exec("quickstart", "h1", "curl", "-s", "-m", "1", "http://203.0.113.1/")
          .output
        usleep(100_000)
      }
      #expect(page.contains("hello from the internet"), "quickstart page: \(page)")
      let leased = try Harness.exec(
        "quickstart", "h3", "ip", "-4", "-o", "addr", "show", "dev", "eth0")
      #expect(leased.output.contains("inet 10.0.0.1"), "h3: \(leased.output)")
      let ping = try Harness.exec("quickstart", "h3", "ping", "-c", "1", "-W", "2", "203.0.113.1")
      #expect(ping.status == 0, "h3 through NAT: \(ping.output)")
    }
    #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/qs-internet"))
  }

  @Test func aNATWithAddressDHCPLeasesItFromTheUpstreamServer() throws {
    let lab = "e2natd"
    let yaml = """
      name: \(lab)
      switches: {core: {ports: {h1: {}, gw: {uplink: wan}}}}
      hosts:
        h1: {port: core/h1, address: 10.0.11.1/24, gateway: 10.0.11.254}
        up:
          veth: \(lab)-wan
          address: 198.18.11.1/24
          run: >-
            exec dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --port=0
            --bind-interfaces --interface=eth0 --dhcp-range=198.18.11.50,198.18.11.60,1h
            --dhcp-option=3,198.18.11.1 --dhcp-leasefile=upstream.leases
      uplinks:
        wan: {mode: nat, interface: \(lab)-wan, address: dhcp, inside: 10.0.11.254/24}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let nat = try Self.nat(lab)
      let outside = nat["outsideAddress"] as? String ?? ""
      #expect(outside.hasPrefix("198.18.11.5") && outside.hasSuffix("/24"), "NAT address: \(nat)")
      #expect(nat["gateway"] as? String == "198.18.11.1")
      let ping = try Harness.exec(lab, "h1", "ping", "-c", "2", "-W", "2", "198.18.11.1")
      #expect(ping.status == 0, "through a DHCP-addressed NAT: \(ping.output)")
      let leases =
        (try? String(contentsOfFile: "/run/patchbay/\(lab)/upstream.leases", encoding: .utf8)) ?? ""
      #expect(leases.contains(nat["outsideMAC"] as? String ?? "?"), "upstream leases: \(leases)")
    }
  }

  @Test func aRateLimitOnTheUplinkPortCapsTheLabsWayOut() throws {
    let lab = "e2natr"
    let yaml = Self.topology.replacingOccurrences(of: Self.lab, with: lab)
      .replacingOccurrences(
        of: "gw: {uplink: wan}", with: "gw: {uplink: wan, rate: {egress: 50mbit}}")
    try Harness.withLab(yaml, named: lab, exclusive: true) { _ in
      // The switch's egress to the uplink port is the lab's way out: frames
      // wait in the port's queue and are handed to the router as they leave.
      let tcp = try Iperf.measure(lab, from: "h1", to: "up", address: Self.upstream, seconds: 4)
      let udp = try Iperf.measure(
        lab, from: "h2", to: "up", address: Self.upstream, seconds: 4, udpBitsPerSecond: 80e6)
      print(
        "uplink limited to 50 Mbit/s: TCP \(tcp.bitsPerSecond / 1e6), UDP \(udp.bitsPerSecond / 1e6)"
      )
      for (name, measured) in [("TCP", tcp), ("UDP", udp)] {
        #expect(
          abs(measured.bitsPerSecond - 50e6) <= 0.05 * 50e6,
          "\(name) through a 50 Mbit/s uplink: \(measured.bitsPerSecond / 1e6) Mbit/s")
      }
    }
  }
}
