import CLinuxNet
import Glibc

/// The CLI's side of a lab's sockets beyond the control request: a VM's
/// console, and a capture stream that Ctrl-C ends cleanly. The CLI stays
/// commands and rendering; the shim is called from here.
public enum ClientConnections {
  /// A connection to the Unix socket at `path` (a VM's console), or why not.
  public static func connect(toConsole path: String) throws(PatchbayError) -> Int32 {
    let connection = pb_unix_connect(path)
    guard connection >= 0 else {
      throw PatchbayError(
        "cannot connect to \(path): \(String(cString: strerror(-connection))) (is the vm running?)"
      )
    }
    return connection
  }

  /// Makes SIGINT and SIGTERM shut down the write side of capture stream
  /// `connection`, so the daemon ends the capture and sends its summary
  /// instead of the client dying mid-stream.
  public static func endCaptureOnInterrupt(_ connection: Int32) {
    _ = pb_install_capture_stop_handler(connection)
  }
}
