import Glibc
import PatchbayWire
import SystemPackage

/// A port without an interface: an AF_UNIX datagram socket pair, one end for
/// the datapath and one for whoever plays the host behind it. Each datagram
/// is one frame with its virtio-net header first, as on a TAP, so a datapath
/// over loopback ports runs its real read, switch and egress path, syscalls
/// included, with no root and no interface. Both ends are non-blocking.
public struct LoopbackPort: Sendable {
  /// The datapath's end.
  public let datapathEnd: FileDescriptor
  /// The host's end: what `inject` writes and `receive` reads.
  public let hostEnd: FileDescriptor

  /// Makes a socket pair.
  public init() throws(SystemCallError) {
    var ends: [Int32] = [-1, -1]
    let type =
      Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
      | Int32(SOCK_CLOEXEC.rawValue)
    try checkedLibc("socketpair", "loopback port") { socketpair(AF_UNIX, type, 0, &ends) }
    datapathEnd = FileDescriptor(rawValue: ends[0])
    hostEnd = FileDescriptor(rawValue: ends[1])
  }

  /// The datapath's view of this port as port `portIndex` of switch
  /// `switchIndex`: read and written one frame per call like a TAP, or, as a
  /// packet socket, in batches (`recvmmsg`, `sendmmsg`). A packet-socket port
  /// gets a duplicate of the datapath's end, which the datapath closes.
  public func datapathPort(switchIndex: Int, portIndex: Int, asPacketSocket: Bool = false)
    throws(SystemCallError) -> DatapathPort
  {
    guard asPacketSocket else {
      return DatapathPort(
        descriptor: datapathEnd.rawValue, switchIndex: switchIndex, portIndex: portIndex)
    }
    let copy = try checkedLibc("dup", "loopback port") { dup(datapathEnd.rawValue) }
    return DatapathPort(packetSocket: copy, switchIndex: switchIndex, portIndex: portIndex)
  }

  /// Sends `frame` from the host, after `header` (default: no offloads asked).
  public func inject(_ frame: [UInt8], header: [UInt8] = .init(repeating: 0, count: 10))
    throws(SystemCallError)
  {
    let datagram = header + frame
    try checkedLibc("send", "loopback port") {
      Int32(datagram.withUnsafeBytes { send(hostEnd.rawValue, $0.baseAddress, $0.count, 0) })
    }
  }

  /// The next frame the datapath sent to the host, split into its virtio-net
  /// header and the frame; nil when none waits.
  public func receive() -> (header: [UInt8], frame: [UInt8])? {
    var bytes = [UInt8](repeating: 0, count: 70_000)
    let count = bytes.withUnsafeMutableBytes {
      recv(hostEnd.rawValue, $0.baseAddress, $0.count, 0)
    }
    guard count >= VirtioNetHeader.byteCount else { return nil }
    return (
      Array(bytes[0..<VirtioNetHeader.byteCount]),
      Array(bytes[VirtioNetHeader.byteCount..<count])
    )
  }

  /// Every frame waiting for the host, in order.
  public func receiveAll() -> [[UInt8]] {
    var frames: [[UInt8]] = []
    while let (_, frame) = receive() { frames.append(frame) }
    return frames
  }

  /// Closes both ends (a packet-socket port's duplicate is the datapath's to close).
  public func close() {
    try? datapathEnd.close()
    try? hostEnd.close()
  }
}
