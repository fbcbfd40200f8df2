import CLinuxNet
import Foundation
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology
import PatchbayWire

// Building uplinks (NAT routers, bridged NICs, host-only interfaces), veth
// hosts, the programs hosts run, and the DHCP clients of `address: dhcp` hosts.

extension Lab {
  /// The router of NAT uplink `name` declared with `uplink`, whose lab side is `port`.
  static func routerConfiguration(
    named name: String, _ uplink: NATUplinkSpec, port: PortReference, in topology: Topology,
    warnings: inout [String]
  ) throws(LabError) -> UplinkRouterConfiguration {
    let inside = uplink.inside
    var outside: IPv4CIDR?
    if case .fixed(let cidr) = uplink.address { outside = cidr }
    let macs = topology.routerMACs(ofUplink: name)
    // The lab's own hosts on the uplink's switch, by address: known neighbours,
    // fixed DHCP leases for those that name a MAC, and never handed out.
    var neighbours: [IPv4Address: MACAddress] = [:]
    var fixedLeases: [MACAddress: IPv4Address] = [:]
    var excluded: Set<IPv4Address> = []
    var hostAddresses: [String: IPv4Address] = [:]
    for host in topology.hosts where host.port?.switchName == port.switchName {
      guard case .fixed(let cidr) = host.address, inside.contains(cidr.address) else { continue }
      neighbours[cidr.address] = topology.macAddress(of: host)
      excluded.insert(cidr.address)
      hostAddresses[host.name] = cidr.address
      if let mac = host.mac { fixedLeases[mac] = cidr.address }
    }
    var dnsServer: IPv4Address?
    switch uplink.dns {
    case .server(let address): dnsServer = address
    case .relay:
      dnsServer = hostResolver()
      if dnsServer == nil {
        warnings.append(
          "uplink \(name): the host has no resolver reachable over the network (only loopback ones in /etc/resolv.conf); DNS queries to \(inside.address) go unanswered — set dns: to an address"
        )
      }
    case nil: dnsServer = nil
    }
    let dhcp = uplink.dhcp.map { spec in
      DHCPServerConfiguration(
        serverAddress: inside.address, subnet: inside, rangeStart: spec.rangeStart,
        rangeEnd: spec.rangeEnd, lease: spec.lease, router: inside.address,
        domainNameServer: uplink.dns == nil ? nil : inside.address, fixedLeases: fixedLeases,
        excluded: excluded)
    }
    var forwards: [NATForward] = []
    for forward in uplink.forwards {
      let address: IPv4Address
      switch forward.target {
      case .address(let given): address = given
      case .host(let name):
        guard let found = hostAddresses[name] ?? fixedAddress(ofHost: name, in: topology) else {
          throw LabError(
            "uplink \(name): forward target host '\(name)' has no fixed address")
        }
        address = found
      }
      forwards.append(
        NATForward(
          transport: forward.transport == .tcp ? .tcp : .udp, outsidePort: forward.outsidePort,
          insideAddress: address, insidePort: forward.insidePort))
    }
    return UplinkRouterConfiguration(
      insideAddress: inside, insideMAC: macs.inside, outsideAddress: outside,
      outsideUsesDHCP: uplink.address == .dhcp, outsideMAC: macs.outside, gateway: uplink.gateway,
      dhcp: dhcp, dnsServer: dnsServer,
      forwards: forwards, neighbours: neighbours, maximumSessions: uplink.maxSessions)
  }

  private static func fixedAddress(ofHost name: String, in topology: Topology) -> IPv4Address? {
    guard let host = topology.hosts.first(where: { $0.name == name }),
      case .fixed(let cidr) = host.address
    else { return nil }
    return cidr.address
  }

  /// The first resolver of the host that is not on loopback (a local stub such
  /// as systemd-resolved's 127.0.0.53 cannot be reached from the NIC; its
  /// upstream list is read instead).
  static func hostResolver() -> IPv4Address? {
    for file in ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"] {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
      for line in text.split(whereSeparator: \.isNewline) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2, words[0] == "nameserver", let address = IPv4Address(words[1]),
          !address.isLoopback
        else { continue }
        return address
      }
    }
    return nil
  }

  /// Waits (up to 10 s) for NAT uplinks with `address: dhcp` to lease their
  /// address, so `up` returns with the way out working; warns if one has not.
  func waitForUplinkLeases() {
    let asking = topology.uplinks.filter { $0.nat?.address == .dhcp }.map(\.name)
    guard !asking.isEmpty else { return }
    let deadline = Date().addingTimeInterval(10)
    var missing = asking
    while !missing.isEmpty && Date() < deadline {
      let leased = Set(
        snapshot().uplinks.filter { $0.configuration.outsideAddress != nil }.map(\.name))
      missing.removeAll { leased.contains($0) }
      if !missing.isEmpty { usleep(100_000) }
    }
    for name in missing {
      warnings.append(
        "uplink \(name): no DHCP lease on the physical network yet; the NAT keeps asking, and the lab cannot reach out until it has one"
      )
    }
  }

  /// The packet socket of a NAT uplink's physical side, which must exist.
  static func openUplinkSocket(_ interface: String, uplink: String) throws(LabError) -> Int32 {
    guard pb_if_index(interface) != 0 else {
      throw LabError("uplink \(uplink): interface '\(interface)' does not exist")
    }
    _ = pb_if_set_up(interface, 1)
    var index: Int32 = 0
    let descriptor = pb_packet_open(interface, &index)
    guard descriptor >= 0 else {
      throw LabError(
        "uplink \(uplink): cannot open a packet socket on '\(interface)': \(String(cString: strerror(-descriptor)))"
      )
    }
    return descriptor
  }

  /// Gives a host-only uplink's TAP (in the root namespace) the uplink's inside
  /// address, and keeps the host from routing lab traffic anywhere else: with
  /// forwarding off on that interface, nothing from the lab leaves through it.
  static func configureHostOnly(_ tap: TapDevice, inside: IPv4CIDR) throws {
    try tap.setUp()
    try IPRoute.run(["addr", "add", inside.description, "dev", tap.interfaceName])
    try Sysctl.write("net/ipv4/conf/\(tap.interfaceName)/forwarding", "0")
  }

  /// Makes a veth host: its namespace, and a veth pair whose far end is its `eth0`.
  static func setUpVethHost(
    _ host: HostSpec, veth: String, topology: Topology, paths: LabPaths,
    resources: inout LabResources
  ) throws {
    let namespace = paths.namespace(ofHost: host.name)
    try IPRoute.run(["netns", "add", namespace])
    resources.namespaces.append(namespace)
    try resources.save(paths)
    try IPRoute.run([
      "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace,
    ])
    resources.links.append(veth)
    try resources.save(paths)
    try IPRoute.run([
      "-n", namespace, "link", "set", "eth0", "address", topology.macAddress(of: host).description,
    ])
    try IPRoute.run(["link", "set", veth, "up"])
    try configureHostAddress(host, namespace: namespace)
  }

  /// Brings up `lo` and `eth0` of a host's namespace with its fixed address and gateway.
  static func configureHostAddress(_ host: HostSpec, namespace: String) throws {
    try IPRoute.run(["-n", namespace, "link", "set", "lo", "up"])
    try IPRoute.run(["-n", namespace, "link", "set", "eth0", "up"])
    if case .fixed(let cidr) = host.address {
      try IPRoute.run(["-n", namespace, "addr", "add", cidr.description, "dev", "eth0"])
    }
    if let gateway = host.gateway {
      try IPRoute.run(["-n", namespace, "route", "add", "default", "via", gateway.description])
    }
  }

  /// Starts each host's `run:` command in its namespace, output to `HOST.log`
  /// in the state directory; the namespace's processes are killed at `down`.
  func startHostPrograms() throws(LabError) {
    for host in topology.hosts {
      guard let command = host.run else { continue }
      try spawn(command, in: host)
    }
  }

  /// Starts `command` with `sh -c` inside `host`'s namespace, in the state
  /// directory, its output into `HOST.log` (capped at the topology's
  /// `log-cap`), with a clean signal mask; does not wait for it. Returns its pid.
  @discardableResult
  private func spawn(_ command: String, in host: HostSpec) throws(LabError) -> pid_t {
    let output = try hostLog(of: host).writeEnd
    // `cd` in the shell: the child starts where the daemon is.
    let arguments = [
      IPRoute.executable, "netns", "exec", paths.namespace(ofHost: host.name), "/bin/sh", "-c",
      "cd '\(paths.directory)' && \(command)",
    ]
    let pid = withArgumentVector(arguments) { pb_spawn($0, output) }
    guard pid > 0 else {
      throw LabError(
        "host \(host.name): cannot run '\(command)': \(String(cString: strerror(-pid)))")
    }
    return pid
  }

  /// The pump into `HOST.log`, made at the host's first program. Its write
  /// end stays open in the daemon for the host's next program.
  private func hostLog(of host: HostSpec) throws(LabError) -> LogPump {
    if let pump = hostLogs.withLock({ $0[host.name] }) { return pump }
    let path = "\(paths.directory)/\(host.name).log"
    let pump: LogPump
    do {
      pump = try LogPump(
        log: try CappedLog(path: path, cap: topology.logCap), label: "host \(host.name)",
        logger: logger)
    } catch {
      throw LabError("host \(host.name): \(error.description)")
    }
    hostLogs.withLock { $0[host.name] = pump }
    return pump
  }

  /// Runs a DHCP client (busybox udhcpc, in the foreground so it stays a child
  /// of the lab) in every `address: dhcp` host and waits until each has a
  /// lease; the clients stay to renew it and die with the namespace.
  func startDHCPClients() throws(LabError) {
    let hosts = topology.hosts.filter { $0.address == .dhcp }
    guard !hosts.isEmpty else { return }
    guard let busybox = DHCPClientScript.busybox else {
      throw LabError("hosts with 'address: dhcp' need busybox's udhcpc (apt-get install busybox)")
    }
    let script = "\(paths.directory)/udhcpc.script"
    do {
      try DHCPClientScript.text(ip: IPRoute.executable).write(
        toFile: script, atomically: true, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script)
    } catch {
      throw LabError("cannot write \(script): \(error.localizedDescription)")
    }
    var clients: [(HostSpec, pid_t)] = []
    for host in hosts {
      // -n: exit after the tries without a lease instead of retrying forever.
      let command =
        "exec \(busybox) udhcpc -f -i eth0 -s \(script) -t 8 -T 1 -A 1 -n -x hostname:\(host.name)"
      clients.append((host, try spawn(command, in: host)))
    }
    let deadline = Date().addingTimeInterval(15)
    for (host, client) in clients {
      let namespace = paths.namespace(ofHost: host.name)
      while true {
        if let text = try? IPRoute.output(["-n", namespace, "-4", "addr", "show", "dev", "eth0"]),
          text.contains("inet ")
        {
          break
        }
        if waitpid(client, nil, WNOHANG) == client || Date() > deadline {
          hostLogs.withLock { $0[host.name] }?.drain()
          let log = "\(paths.directory)/\(host.name).log"
          let last =
            (try? String(contentsOfFile: log, encoding: .utf8))?
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
          throw LabError(
            "host \(host.name): no DHCP lease from the lab's DHCP server (udhcpc: \(last))")
        }
        usleep(50_000)
      }
    }
  }
}

/// The udhcpc event script the lab installs: it configures `eth0` from a lease.
enum DHCPClientScript {
  /// busybox's path, if installed.
  static let busybox: String? = ["/usr/bin/busybox", "/bin/busybox", "/usr/sbin/busybox"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// The script: udhcpc calls it with deconfig, bound, renew, leasefail or nak,
  /// and the lease in the environment (`ip`, `mask` as a prefix length, `router`).
  static func text(ip: String) -> String {
    """
    #!/bin/sh
    # Written by patchbay: configures the interface from udhcpc's lease.
    case "$1" in
      deconfig)
        \(ip) addr flush dev "$interface"
        \(ip) link set "$interface" up
        ;;
      bound|renew)
        \(ip) addr replace "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then
          \(ip) route replace default via "${router%% *}" dev "$interface"
        fi
        ;;
    esac
    exit 0

    """
  }
}

/// Writes kernel settings under /proc/sys.
enum Sysctl {
  /// Writes `value` to /proc/sys/`key`.
  static func write(_ key: String, _ value: String) throws {
    let path = "/proc/sys/\(key)"
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw LabError("cannot open \(path)")
    }
    defer { try? handle.close() }
    try handle.write(contentsOf: Data(value.utf8))
  }
}
