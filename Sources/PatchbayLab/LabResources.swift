import Foundation
import PatchbayControl

/// What a lab created (see `LabResourceRecord`, its pure part in PatchbayControl).
public typealias LabResources = LabResourceRecord

extension LabResources {
  /// Reads the resources of the lab at `paths`, if recorded.
  public static func load(_ paths: LabPaths) -> LabResources? {
    guard let data = FileManager.default.contents(atPath: paths.resourcesFile) else { return nil }
    return LabResources(decoding: data)
  }

  /// Writes the record atomically (a crash leaves the old or the new one, never half).
  public func save(_ paths: LabPaths) throws {
    try encoded().write(to: URL(fileURLWithPath: paths.resourcesFile), options: .atomic)
  }

  /// Removes whatever of the resources recorded in `resources.json` still
  /// exists, then the state directory. Returns what it could not remove, one line each.
  @discardableResult
  public static func removeLeftovers(of paths: LabPaths) -> [String] {
    removeLeftovers(load(paths), of: paths)
  }

  /// Removes whatever of `resources` still exists, then the state directory
  /// at `paths`: for a janitor that holds its own copy of the record and must
  /// not trust the file, which the daemon could rewrite.
  @discardableResult
  public static func removeLeftovers(_ resources: LabResources?, of paths: LabPaths) -> [String] {
    var problems: [String] = []
    if let resources {
      // QEMU first: it holds the TAPs below open.
      stopProcesses(resources.vmProcesses.values.sorted(), of: paths)
      for link in resources.links.reversed() where interfaceExists(link) {
        do { try IPRoute.run(["link", "del", link]) } catch { problems.append(error.description) }
      }
      for namespace in resources.namespaces.reversed() where IPRoute.namespaceExists(namespace) {
        IPRoute.killProcesses(in: namespace)
        do { try IPRoute.run(["netns", "del", namespace]) } catch {
          problems.append(error.description)
        }
      }
    }
    try? FileManager.default.removeItem(atPath: paths.directory)
    return problems
  }
}

extension LabResources {
  /// Ends the QEMU processes `pids` that still run for this lab: SIGTERM (QEMU
  /// exits cleanly on it), then SIGKILL after three seconds. A pid counts as
  /// the lab's only while its command line names the lab's state directory,
  /// so a reused pid is left alone.
  static func stopProcesses(_ pids: [Int32], of paths: LabPaths) {
    func isOurs(_ pid: Int32) -> Bool {
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        return false
      }
      return String(decoding: data, as: UTF8.self).contains("\(paths.directory)/")
    }
    var running = pids.filter(isOurs)
    for pid in running { kill(pid, SIGTERM) }
    let deadline = Date().addingTimeInterval(3)
    while !running.isEmpty && Date() < deadline {
      usleep(50_000)
      running = running.filter(isOurs)
    }
    for pid in running { kill(pid, SIGKILL) }
  }
}

/// True when an interface of that name exists in this namespace.
func interfaceExists(_ name: String) -> Bool {
  FileManager.default.fileExists(atPath: "/sys/class/net/\(name)")
}
