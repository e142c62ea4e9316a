import Foundation

/// Where the coordinator keeps its key and database inside a data folder.
struct DataDirectory {
    let path: String

    init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    var coordinatorKey: String { file("coordinator.key") }
    var database: String { file("crucible.sqlite") }
    func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }

    var databaseExists: Bool { FileManager.default.fileExists(atPath: database) }
}
