import Glibc
import PatchbayCore
import SystemPackage

/// What became of one frame written to a descriptor.
public enum WriteOutcome: Equatable, Sendable {
  /// The whole frame left.
  case sent
  /// The descriptor's queue is full (EAGAIN): the frame is lost, not retried.
  case wouldBlock
  /// The interface is down or gone (EIO from a TAP, ENETDOWN or ENXIO from a
  /// packet socket, EBADF from one that was closed).
  case down
  /// Anything else, a short write included.
  case failed

  /// The outcome of a call that failed with `error`.
  @inline(__always)
  init(errno error: Int32) {
    switch error {
    case EAGAIN: self = .wouldBlock
    case EIO, ENETDOWN, ENXIO, EBADF: self = .down
    default: self = .failed
    }
  }

  /// The reason a frame with this outcome is counted as dropped (nil: it was sent).
  @inline(__always)
  var dropReason: DropReason? {
    switch self {
    case .sent: nil
    case .down: .portDown
    case .wouldBlock, .failed: .transmitFailed
    }
  }
}

/// The datapath's one way of writing a frame to a descriptor: the only place
/// it calls `write` or `writev` for a frame. A frame is written whole or not
/// at all (a datagram descriptor: TAP, packet socket, socket pair), so a short
/// write counts as failed; EINTR is retried, EAGAIN is reported rather than
/// waited for, because the loop never blocks on one port.
enum FrameWrite {
  /// Writes `count` bytes at `bytes` (virtio-net header, then the frame) to `descriptor`.
  @inline(__always)
  static func write(_ descriptor: FileDescriptor, _ bytes: UnsafeRawPointer, count: Int)
    -> WriteOutcome
  {
    while true {
      let written = Glibc.write(descriptor.rawValue, bytes, count)
      if written == count { return .sent }
      if written >= 0 { return .failed }
      let error = errno
      if error != EINTR { return WriteOutcome(errno: error) }
    }
  }

  /// Writes the `parts` pieces of `vector`, `count` bytes in all, to `descriptor` as one frame.
  @inline(__always)
  static func write(
    _ descriptor: FileDescriptor, vector: UnsafePointer<iovec>, parts: Int, count: Int
  ) -> WriteOutcome {
    while true {
      let written = Glibc.writev(descriptor.rawValue, vector, Int32(parts))
      if written == count { return .sent }
      if written >= 0 { return .failed }
      let error = errno
      if error != EINTR { return WriteOutcome(errno: error) }
    }
  }
}
