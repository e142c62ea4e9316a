import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import Foundation

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Read the public log in words, newest first: all of it, or the entries about one node, job, run, challenge, proposal, epoch or signer.",
        discussion: "Each entry is signed by the coordinator; `crucible audit --coordinator` checks them all. --json prints the page as the API gives it."
    )

    @Option(help: "Only entries about this: a node or signer address, job-…, a run id, challenge-N, proposal-N, epoch-N or kind.NAME (kind.verdict, kind.stake, …).")
    var subject: String?

    @Option(help: "Only entries before this entry number (the next page: the last number shown).")
    var before: Int64?

    @Option(help: "How many entries.")
    var limit: Int = 20

    @Flag(help: "Print JSON for scripts (the API's log page).") var json = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard (1...5_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 5000") }
    }

    func run() async throws {
        let page = try await client.client().log(concerning: subject, before: before ?? .max, limit: limit)
        if json { return try printJSON(page) }
        guard !page.entries.isEmpty else {
            return print("no entries" + (subject.map { " about \($0)" } ?? "") + (before.map { " before \($0)" } ?? ""))
        }
        let time = DateFormatter()
        time.dateFormat = "yyyy-MM-dd HH:mm:ss"
        time.timeZone = TimeZone(identifier: "UTC")
        // Without the coordinator's state a run is named by its id rather than its node.
        let state = NetworkState()
        let rows = page.entries.map { entry -> [String] in
            let event = try? CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8))
            let kind = event?.kindName ?? "unreadable"
            return ["\(entry.seq)", time.string(from: Date(timeIntervalSince1970: Double(entry.timestampMs) / 1000)), kind, event.map { LogEntryText.describe($0, in: state) } ?? "content is not a log event"]
        }
        print(TextTable.render(header: ["ENTRY", "TIME (UTC)", "KIND", "WHAT HAPPENED"], rows: rows))
        if page.entries.count == limit, let last = page.entries.last {
            print("older: --before \(last.seq)")
        }
    }
}
