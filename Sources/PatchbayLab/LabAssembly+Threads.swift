import CLinuxNet
import Foundation
import PatchbayDatapath
import PatchbayTopology

// A lab's datapath threads (`datapath-threads`): how many, and each thread's
// own view of the ports. A TAP port is one queue of its multi-queue TAP per
// thread; a packet-socket port one socket per thread, all in one hash fanout
// group, so the kernel gives each flow to one thread. Patch cables and NAT
// uplinks' lab sides are the same on every thread.
extension LabAssembly {
  /// The environment variable that sets the thread count where the topology
  /// does not (the test suite runs with 1 and with 2).
  static let threadsVariable = "PATCHBAY_DATAPATH_THREADS"

  /// The threads `topology` runs: its `datapath-threads`, else the
  /// environment's, else one per core, at most one per port that moves frames
  /// (a TAP or a packet socket; a patch cable or a router moves none itself).
  static func threadCount(
    for topology: Topology,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    cores: Int = ProcessInfo.processInfo.activeProcessorCount
  ) -> Int {
    if let asked = topology.datapathThreads { return asked }
    if let text = environment[threadsVariable], let asked = Int(text),
      Topology.datapathThreadCounts.contains(asked)
    {
      return asked
    }
    let busyPorts = topology.switches.flatMap(\.ports).filter { port in
      switch port.kind {
      case .peer: return false
      case .uplink(let name):
        guard let uplink = topology.uplinks.first(where: { $0.name == name }) else { return false }
        if case .nat = uplink.settings { return false }
        return true
      case .tap, .attach: return true
      }
    }.count
    return max(1, min(cores, busyPorts))
  }

  /// Thread `thread`'s ports: its queue of each TAP and, for thread 1 and on, a
  /// socket of its own on each attached interface (held in `packetSockets`
  /// for the rollback), every one joined to its port's fanout group.
  mutating func ports(forThread thread: Int, fanoutGroups: [Int32]) throws(LabError)
    -> [DatapathPort]
  {
    var result = datapathPorts
    for (global, port) in datapathPorts.enumerated() {
      switch port.kind {
      case .tap:
        guard let tap = portTaps[global] else { continue }
        result[global].descriptor = tap.queueDescriptors[thread].rawValue
      case .packetSocket:
        guard port.descriptor >= 0, let interface = attached[global] else { continue }
        var descriptor = port.descriptor
        if thread > 0 {
          var index: Int32 = 0
          descriptor = pb_packet_open(interface, &index)
          guard descriptor >= 0 else {
            throw LabError("attach \(interface): cannot open a socket per datapath thread")
          }
          packetSockets.append(descriptor)
          result[global].descriptor = descriptor
        }
        // The first thread's socket joined in `fanoutGroups()`.
        guard thread == 0 || pb_packet_join_fanout(descriptor, fanoutGroups[global]) == 0 else {
          throw LabError("attach \(interface): cannot join fanout group \(fanoutGroups[global])")
        }
      case .patchCable, .router:
        continue
      }
    }
    return result
  }

  /// A fanout group for each packet-socket port (0 for the others): numbers
  /// from this process's ID on, so two labs on one machine rarely meet; the
  /// kernel refuses a group that is another interface's, and the first socket
  /// of each port tries the next number until one is its own.
  func fanoutGroups() throws(LabError) -> [Int32] {
    var next = Int32(truncatingIfNeeded: getpid() &* 31) & 0x7FFF | 1
    var groups = Array(repeating: Int32(0), count: datapathPorts.count)
    for (global, port) in datapathPorts.enumerated() where port.kind == .packetSocket {
      next = next == 0xFFFF ? 1 : next + 1
      groups[global] = next
      // A port whose interface is missing joins when it reopens (`reattachPacketSockets`).
      guard port.descriptor >= 0 else { continue }
      var joined = false
      for _ in 0..<256 {
        if pb_packet_join_fanout(port.descriptor, next) == 0 {
          joined = true
          break
        }
        next = next == 0xFFFF ? 1 : next + 1
      }
      guard joined else {
        throw LabError("attach \(attached[global] ?? "?"): no free packet fanout group")
      }
      groups[global] = next
    }
    return groups
  }
}
