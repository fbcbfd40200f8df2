import Logging
import PatchbayControl
import Testing

@testable import PatchbayLab

/// What the daemon logs of control requests: those that change the lab at
/// info, those that only read at debug.
@Suite struct LabDaemonLoggingTests {
  @Test func aSetRequestIsLoggedAtInfoWithItsAnswerAndReadsAreNot() throws {
    let log = CapturedLog()
    let daemon = try LabDaemonTests.daemon(logger: log.logger(.info))
    _ = daemon.handle(.status)
    _ = daemon.handle(.fdb(switchName: nil))
    _ = daemon.handle(.nat)
    _ = daemon.handle(.setRate(port: "core/h2", settings: ["ingress=10mbit"]))
    _ = daemon.handle(.setRate(port: "core/nope", settings: ["off"]))
    #expect(
      log.text == """
        patchbay: info: control: set core/h2 rate ingress=10mbit: core/h2: rate ingress 10mbit port=core/h2 request=set time=2025-12-02T07:00:00.123Z
        patchbay: info: control: set core/nope rate off: refused: lab e2labd has no port 'core/nope' (ports are named SWITCH/PORT) port=core/nope request=set time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func atDebugReadsAreLoggedToo() throws {
    let log = CapturedLog()
    let daemon = try LabDaemonTests.daemon(logger: log.logger(.debug))
    _ = daemon.handle(.status)
    _ = daemon.handle(.fdb(switchName: "core"))
    _ = daemon.handle(.nat)
    #expect(
      log.text == """
        patchbay: debug: control: status request=status time=2025-12-02T07:00:00.123Z
        patchbay: debug: control: fdb request=fdb time=2025-12-02T07:00:00.123Z
        patchbay: debug: control: nat request=nat time=2025-12-02T07:00:00.123Z

        """)
  }
}
