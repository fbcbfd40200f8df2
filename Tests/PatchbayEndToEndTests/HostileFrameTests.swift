import Foundation
import Testing

/// Hostile frames end to end, written by a lab host to its own port through a
/// packet socket (inject.py): runts, giants, cut-short headers, VLAN hops, bad
/// virtio-net headers and a broadcast storm. Whatever reaches the switch must
/// be counted (forwarded, flooded, or dropped for a reason), the daemon must
/// survive it, and the other hosts must keep talking.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct HostileFrameTests {
  /// The attacker `a`, and `s` and `c`, who talk to each other throughout.
  static func topology(_ lab: String) -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          a: {}
          s: {}
          c: {}
    hosts:
      a: {port: core/a, address: 10.0.3.1/24}
      s: {port: core/s, address: 10.0.3.2/24}
      c: {port: core/c, address: 10.0.3.3/24}
    """
  }

  /// A frame in hex: broadcast destination, source 02:00:00:00:00:a1, then `rest`.
  static func frame(_ rest: String, to destination: String = "ffffffffffff") -> String {
    destination + "0200000000a1" + rest
  }

  /// 46 zero bytes in hex: a minimum payload.
  static let padding = String(repeating: "00", count: 46)

  /// Headers that stop early or lie about their length. An L2 switch forwards
  /// what it cannot judge: these are sent to `s`'s MAC, and each is forwarded
  /// (the switch reads no further than the Ethernet header for them).
  static let truncatedHeaders = [
    // IPv4, 4 bytes of a 20-byte header.
    "0800" + "4500001c",
    // IPv4 whose IHL says 60 bytes, 20 there.
    "0800" + "4f00003c" + String(repeating: "00", count: 16),
    // IPv4 whose total length says 1500, no payload.
    "0800" + "450005dc000000004006" + "0000" + "0a000301" + "0a000302",
    // TCP, 2 of its 20 header bytes.
    "0800" + "450000280000000040060000" + "0a000301" + "0a000302" + "9c40",
    // IPv6, 8 of 40 bytes.
    "86dd" + "6000000000080611",
    // ARP, 8 of 28 bytes.
    "0806" + "0001080006040001",
  ]

  /// Tagged frames on an access port, each a `tagged-on-access` drop: a VLAN
  /// tag, a double tag (the classic VLAN hop), and a priority tag hiding a
  /// second tag.
  static let taggedFrames = [
    "8100" + "0005" + "0800" + padding,
    "8100" + "0005" + "8100" + "0006" + "0800" + padding,
    "8100" + "0000" + "8100" + "0006" + "0800" + padding,
  ]

  /// Sends the whole hostile set from `a` once, and returns what inject.py said
  /// about the bad virtio-net headers. `a`'s eth0 must have an MTU of 9000.
  static func injectHostileSet(_ lab: String, serverMAC: String) throws -> [String: [String: Any]] {
    // Runts: the kernel refuses 0-13 bytes (EINVAL); 14-17 bytes with
    // EtherType 0x8100 have a VLAN tag cut short: 4 `runt` drops.
    let runts = try Inject.run(lab, "a", "runts")
    #expect(runts["refused_lengths"] as? [Int] == Array(0...13), "\(runts)")
    #expect(runts["sent"] as? Int == 4, "\(runts)")
    // A tag with nothing after it, but complete: a priority-tagged frame with
    // an empty payload, flooded like any broadcast.
    try Inject.frames(lab, "a", [frame("8100" + "0000" + "0800")])
    // Giants: the port's MTU is 1500, so frames may be 1522 bytes; 2 at 1522
    // pass (flooded), 2 at 1523 and 2 at 9000 are `oversize`.
    for length in ["1522", "1523", "9000"] {
      let report = try Inject.run(lab, "a", "oversize", length, "--count", "2")
      #expect(report["sent"] as? Int == 2, "\(length): \(report)")
    }
    try Inject.frames(lab, "a", truncatedHeaders.map { frame($0, to: serverMAC) })
    try Inject.frames(lab, "a", taggedFrames.map { frame($0) })
    var offloads: [String: [String: Any]] = [:]
    for kind in [
      "gso-size-zero", "csum-past-end", "hdr-len-past-end", "gso-not-tcp", "gso-size-one",
      "gso-valid",
    ] {
      offloads[kind] = try Inject.run(lab, "a", "vnet", kind, "--count", "2")
    }
    return offloads
  }

  @Test func everyHostileFrameIsCountedAndTheSwitchCarriesOn() throws {
    let lab = "e2hostile"
    try Harness.withLab(Self.topology(lab), named: lab) { _ in
      let status = try Harness.status(lab)
      let serverMAC = try Harness.mac(of: "s", in: status).replacingOccurrences(of: ":", with: "")
      #expect(try Harness.exec(lab, "c", "ping", "-c", "1", "-W", "2", "10.0.3.2").status == 0)
      try Harness.exec(lab, "a", "ip", "link", "set", "eth0", "mtu", "9000")
      let before = try #require(Harness.port("core/a", in: try Harness.status(lab)))
      let offloads = try Self.injectHostileSet(lab, serverMAC: serverMAC)

      // The kernel checks a virtio-net header before it builds the frame
      // (packet_snd -> virtio_net_hdr_to_skb): no segment size for a GSO type,
      // a checksum past the end, a header length past the end, and a TCP GSO
      // type on a UDP frame are all refused at send time with EINVAL, so none
      // reaches the switch, whose own `bad-offload` check stays a second line.
      // 1-byte segments and a correct superframe are accepted and flooded.
      for kind in ["gso-size-zero", "csum-past-end", "hdr-len-past-end", "gso-not-tcp"] {
        let report = offloads[kind] ?? [:]
        #expect(report["sent"] as? Int == 0, "\(kind): \(report)")
        #expect(report["refused"] as? [String: Int] == ["EINVAL": 2], "\(kind): \(report)")
      }
      for kind in ["gso-size-one", "gso-valid"] {
        #expect(offloads[kind]?["sent"] as? Int == 2, "\(kind): \(offloads[kind] ?? [:])")
      }

      let ping = try Harness.exec(lab, "c", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.0.3.2")
      #expect(ping.status == 0, "s and c must still talk: \(ping.output)")
      let after = try Harness.status(lab)
      Harness.expectCountersAddUp(after)
      let attacker = try #require(Harness.port("core/a", in: after))
      let drops = attacker["drops"] as? [String: Int] ?? [:]
      #expect(drops == ["runt": 4, "oversize": 4, "tagged-on-access": 3], "core/a: \(drops)")
      // Forwarded: the 6 cut-short headers to s, nothing else from a is unicast.
      let forwarded = (attacker["forwarded"] as? Int ?? 0) - (before["forwarded"] as? Int ?? 0)
      #expect(forwarded == Self.truncatedHeaders.count, "forwarded from a: \(forwarded)")
      // Flooded: at least the empty tagged frame, 2 frames of 1522 bytes and 4
      // superframes (IPv6 chatter from a's kernel may add some).
      let flooded = (attacker["flooded"] as? Int ?? 0) - (before["flooded"] as? Int ?? 0)
      #expect(flooded >= 7, "flooded from a: \(flooded)")
      for name in ["core/s", "core/c"] {
        let port = try #require(Harness.port(name, in: after))
        #expect((port["txDrops"] as? [String: Int] ?? [:]).isEmpty, "\(name): \(port)")
      }
      print("hostile frames: core/a drops \(drops), forwarded \(forwarded), flooded \(flooded)")
    }
  }

  /// The hostile frames that a plain packet socket can send, in hex: 4 runts,
  /// 2 giants, the cut-short headers (to `serverMAC`), the tagged frames.
  static func hostileFrames(serverMAC: String) -> [String] {
    let runts = (14...17).map { String(frame("8100" + "0005" + "08").prefix($0 * 2)) }
    let giants = [1523, 9000].map {
      frame("88b5" + String(repeating: "00", count: $0 - 14))
    }
    return runts + giants + truncatedHeaders.map { frame($0, to: serverMAC) }
      + taggedFrames.map { frame($0) }
  }

  /// Runs `inject.py ARGUMENTS` in `a` in the background.
  static func injecting(_ lab: String, _ arguments: [String]) throws -> Background {
    try Background(
      "/usr/sbin/ip", ["netns", "exec", "\(lab)-a", "python3", Inject.script] + arguments)
  }

  /// While `a` sends a broadcast storm (as fast as one Python socket sends,
  /// several times what the switch takes: the TAP drops the rest) and, from a
  /// second socket, the hostile frames round after round, `c` keeps its TCP
  /// throughput to `s`; after it, they still ping, the daemon answers, and the
  /// counters add up. (Under the storm most hostile frames die in the TAP's
  /// full queue: their drops are counted exactly in the test above.)
  ///
  /// The bound, from measurements on this project's two-core machine (3 s
  /// runs, debug and release builds, other sessions' compilers and fuzzers
  /// beside them): undisturbed 9-12 Gbit/s; under attack the ratio is
  /// bimodal, 0.46-0.69 in most runs and 0.21-0.29 in others (all three
  /// rounds of one run alike, so it looks like where the scheduler puts the
  /// attacker's Python, the datapath thread and iperf on two cores, not
  /// noise within a run). The storm costs the datapath thread a read and two
  /// TAP writes (the flood to `s` and `c`) per frame at the full rate it can
  /// take, and the datapath serves ready ports one burst each in turn, so the
  /// neighbours keep a good share. The test asks for 20% in one of up to
  /// three rounds of (alone, under attack), as RateLimitTests does for its
  /// neighbours: below the low mode, and still far above what a switch that
  /// drained the storm port first would leave them (next to nothing: the
  /// storm port's queue never empties, the TAP drops most of the storm).
  @Test func neighboursKeepTheirThroughputThroughAStormOfHostileFrames() throws {
    let lab = "e2storm"
    try Harness.withLab(Self.topology(lab), named: lab, exclusive: true) { _ in
      let status = try Harness.status(lab)
      let serverMAC = try Harness.mac(of: "s", in: status).replacingOccurrences(of: ":", with: "")
      #expect(try Harness.exec(lab, "c", "ping", "-c", "1", "-W", "2", "10.0.3.2").status == 0)
      try Harness.exec(lab, "a", "ip", "link", "set", "eth0", "mtu", "9000")
      let seconds = 3
      let measure = {
        try Iperf.measure(lab, from: "c", to: "s", address: "10.0.3.2", seconds: seconds)
      }
      var rounds: [(alone: Double, attacked: Double)] = []
      var reports: [String] = []
      for _ in 0..<3 where !rounds.contains(where: { $0.attacked >= 0.2 * $0.alone }) {
        let alone = try measure()
        let storm = try Self.injecting(lab, ["storm", "\(seconds + 1)"])
        let mix = try Self.injecting(
          lab, ["frames", "--for", "\(seconds + 1)"] + Self.hostileFrames(serverMAC: serverMAC))
        usleep(300_000)
        let attacked = try measure()
        // Both end by themselves a moment after iperf.
        reports += [storm, mix].map {
          String(decoding: $0.finish(signal: 0, timeout: 15).output, as: UTF8.self)
        }
        rounds.append((alone.bitsPerSecond, attacked.bitsPerSecond))
      }

      let ping = try Harness.exec(lab, "c", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.0.3.2")
      #expect(ping.status == 0, "s and c must still talk: \(ping.output)")
      let after = try Harness.status(lab)  // the daemon answers
      Harness.expectCountersAddUp(after)
      let attacker = try #require(Harness.port("core/a", in: after))
      let drops = attacker["drops"] as? [String: Int] ?? [:]
      let measured = rounds.map { ($0.alone / 1e9, $0.attacked / 1e9, $0.attacked / $0.alone) }
      print(
        "storm: iperf (alone, under attack) Gbit/s and ratio: \(measured); storm and mix: "
          + "\(reports.joined(separator: " "))core/a rx \(attacker["rxPackets"] ?? 0) "
          + "flooded \(attacker["flooded"] ?? 0) forwarded \(attacker["forwarded"] ?? 0) drops \(drops)"
      )
      #expect(
        rounds.contains { $0.attacked >= 0.2 * $0.alone },
        "under attack / alone, each round: \(measured)")
      #expect(Set(drops.keys).isSubset(of: ["runt", "oversize", "tagged-on-access"]), "\(drops)")
      #expect(
        (attacker["flooded"] as? Int ?? 0) > 10_000, "the storm reached the switch: \(attacker)")
    }
  }
}
