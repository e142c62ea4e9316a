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

    /// The database to open: the one given, else `$CRUCIBLE_DATABASE` (so a password need not appear in the process
    /// list), else the SQLite file in this folder.
    func databaseAddress(_ given: String?) -> String {
        given ?? ProcessInfo.processInfo.environment["CRUCIBLE_DATABASE"].flatMap { $0.isEmpty ? nil : $0 } ?? database
    }
}
