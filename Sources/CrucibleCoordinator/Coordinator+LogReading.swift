import CrucibleCore
import Foundation

/// A log entry as the explorer shows it: its place, time and kind, what it did in words, and — on a node's page —
/// what it did to that node's standing.
struct LogReading: Sendable {
    var seq: Int64
    var atMs: Int64
    var type: String
    var text: String
    /// What it did to a node's standing, and whether that was to the good.
    var standing: (text: String, good: Bool)?
}

extension Coordinator {
    /// Reads entries (as stored: sequence number, time, content) in words; `nodeId` asks what each did to that node's
    /// standing. An entry whose content does not decode is shown as such rather than dropped.
    func readings(of entries: [(seq: Int64, atMs: Int64, content: String)], standingOf nodeId: String? = nil) -> [LogReading] {
        entries.map { entry in
            guard let event = try? CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8)) else {
                return LogReading(seq: entry.seq, atMs: entry.atMs, type: "unreadable", text: "content is not a log event")
            }
            return LogReading(
                seq: entry.seq, atMs: entry.atMs, type: event.kindName, text: LogEntryText.describe(event, in: state),
                standing: nodeId.flatMap { LogEntryText.standing(of: $0, after: event, in: state) }
            )
        }
    }
}
