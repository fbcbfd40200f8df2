import PatchbayTopology
import Testing

/// The value or the refusal reason, so tables compare one thing.
private func outcome<T>(_ parse: (String) throws(ValueFormatError) -> T, _ text: String) -> Result<
  T, ValueFormatError
> {
  do {
    return .success(try parse(text))
  } catch {
    return .failure(error)
  }
}

@Suite struct ValueFormatsTests {
  @Test(arguments: [
    ("0", UInt64(0)), ("1500", 1500), ("64KiB", 65_536), ("16MiB", 16_777_216),
    ("1GiB", 1_073_741_824), ("2KB", 2_000), ("3MB", 3_000_000), ("1GB", 1_000_000_000),
    ("64kib", 65_536), ("7B", 7), ("18446744073709551615", UInt64.max),
    ("16777215GiB", 16_777_215 << 30),
  ])
  func goodSizes(text: String, bytes: UInt64) {
    #expect(outcome(ValueFormat.size, text) == .success(bytes))
  }

  @Test(arguments: [
    ("", "expected a size like 1500, 64KiB or 16MiB"),
    ("KiB", "expected a size like 1500, 64KiB or 16MiB"),
    ("-1", "expected a size like 1500, 64KiB or 16MiB"),
    ("1.5MiB", "unknown unit '.5MiB'; use B, KiB, MiB, GiB, KB, MB or GB"),
    ("64 KiB", "unknown unit ' KiB'; use B, KiB, MiB, GiB, KB, MB or GB"),
    ("12XB", "unknown unit 'XB'; use B, KiB, MiB, GiB, KB, MB or GB"),
    ("18446744073709551616", "too large"),
    ("17179869184GiB", "too large"),
  ])
  func badSizes(text: String, reason: String) {
    #expect(outcome(ValueFormat.size, text) == .failure(ValueFormatError(reason)))
  }

  @Test(arguments: [
    ("1500bit", Rate.bitsPerSecond(1500)), ("500kbit", .bitsPerSecond(500_000)),
    ("100mbit", .bitsPerSecond(100_000_000)), ("1gbit", .bitsPerSecond(1_000_000_000)),
    ("10Gbit", .bitsPerSecond(10_000_000_000)), ("1500pps", .packetsPerSecond(1500)),
    ("20kpps", .packetsPerSecond(20_000)), ("2mpps", .packetsPerSecond(2_000_000)),
  ])
  func goodRates(text: String, rate: Rate) {
    #expect(outcome(ValueFormat.rate, text) == .success(rate))
  }

  @Test(arguments: [
    ("", "expected a rate like 500kbit, 100mbit, 1gbit or 20kpps"),
    ("fast", "expected a rate like 500kbit, 100mbit, 1gbit or 20kpps"),
    ("100", "missing unit; use bit, kbit, mbit, gbit, pps, kpps or mpps"),
    ("100mbps", "unknown unit 'mbps'; use bit, kbit, mbit, gbit, pps, kpps or mpps"),
    ("0kbit", "must be greater than zero"),
    ("18446744073709552gbit", "too large"),
    ("99999999999999999999bit", "too large"),
  ])
  func badRates(text: String, reason: String) {
    #expect(outcome(ValueFormat.rate, text) == .failure(ValueFormatError(reason)))
  }

  @Test(arguments: [
    ("250ms", Duration.milliseconds(250)), ("300s", .seconds(300)), ("5m", .seconds(300)),
    ("1h", .seconds(3600)), ("0s", .zero), ("2H", .seconds(7200)),
  ])
  func goodDurations(text: String, duration: Duration) {
    #expect(outcome(ValueFormat.duration, text) == .success(duration))
  }

  @Test(arguments: [
    ("", "expected a duration like 250ms, 300s, 5m or 1h"),
    ("s", "expected a duration like 250ms, 300s, 5m or 1h"),
    ("300", "missing unit; use ms, s, m or h"),
    ("1d", "unknown unit 'd'; use ms, s, m or h"),
    ("5 m", "unknown unit ' m'; use ms, s, m or h"),
    ("5min", "unknown unit 'min'; use ms, s, m or h"),
    ("9223372036854776s", "too large"),
    ("99999999999999999999ms", "too large"),
  ])
  func badDurations(text: String, reason: String) {
    #expect(outcome(ValueFormat.duration, text) == .failure(ValueFormatError(reason)))
  }

  @Test(arguments: [("1", UInt16(1)), ("10", 10), ("4094", 4094), ("0300", 300)])
  func goodVLANIDs(text: String, vlan: UInt16) {
    #expect(outcome(ValueFormat.vlanID, text) == .success(vlan))
  }

  @Test(arguments: [
    ("0", "VLAN 0 only marks priority tags; use 1 to 4094"),
    ("4095", "VLAN 4095 is reserved; use 1 to 4094"),
    ("4096", "expected a VLAN id from 1 to 4094"),
    ("70000", "expected a VLAN id from 1 to 4094"),
    ("-1", "expected a VLAN id from 1 to 4094"),
    ("ten", "expected a VLAN id from 1 to 4094"),
    ("", "expected a VLAN id from 1 to 4094"),
  ])
  func badVLANIDs(text: String, reason: String) {
    #expect(outcome(ValueFormat.vlanID, text) == .failure(ValueFormatError(reason)))
  }

  @Test(arguments: ["eth0", "lab1-vm1", "vnet7", "a", "abcdefghijklmno", "br-lan.10", "tap_0"])
  func goodInterfaceNames(text: String) {
    #expect(outcome(ValueFormat.interfaceName, text) == .success(text))
  }

  @Test(arguments: [
    ("", "is empty"),
    ("abcdefghijklmnop", "is longer than 15 characters"),
    ("ééééééééé", "is longer than 15 bytes"),
    (".", "cannot be '.' or '..'"),
    ("..", "cannot be '.' or '..'"),
    ("eth0/1", "contains '/'"),
    ("eth0:1", "contains ':'"),
    ("eth 0", "contains whitespace"),
    ("eth\t0", "contains whitespace"),
    ("eth\u{1}", "contains a control character"),
  ])
  func badInterfaceNames(text: String, reason: String) {
    #expect(outcome(ValueFormat.interfaceName, text) == .failure(ValueFormatError(reason)))
  }
}
