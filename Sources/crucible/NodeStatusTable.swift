import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

/// `node run`'s live table on stdout (logs go to stderr): a row of what the network says about this node whenever it
/// changes — online, proof, runs, earnings, reputation — read from the coordinator every interval.
struct NodeStatusTable {
    let client: CoordinatorClient
    let nodeId: String

    static let header = columns(["TIME", "STATE", "PROOF", "TOPS", "RUNS", "DONE", "EARNED CRU", "STREAK", "CHECKED"])

    func run(everyS seconds: Int) async {
        print("node \(Address.short(nodeId)) — status every \(seconds) s (--status 0 turns it off)")
        print(Self.header)
        fflush(nil)
        var last = ""
        let time = DateFormatter()
        time.dateFormat = "HH:mm:ss"
        while !Task.isCancelled {
            let cells: [String]
            do {
                cells = Self.cells(try await client.node(nodeId))
            } catch let error as CrucibleError where error.code == .notFound {
                cells = ["not registered yet"]
            } catch {
                cells = ["coordinator unreachable: \((error as? CrucibleError)?.message ?? "\(error)")"]
            }
            let row = cells.joined(separator: "|")
            if row != last {
                print(Self.columns([time.string(from: Date())] + cells))
                fflush(nil)
                last = row
            }
            try? await Task.sleep(for: .seconds(seconds))
        }
    }

    static func cells(_ node: Components.Schemas.Node) -> [String] {
        [
            node.online ? "online" : "offline",
            node.proof.status.rawValue,
            String(format: "%.4g", node.proof.provenTops),
            "\(node.runsActive)/\(node.maxConcurrentRuns)",
            "\(node.runsDone)",
            Amount.format(node.earnedMicro),
            "\(node.verifiedStreak ?? 0)",
            node.adaptiveSamplePpm.map { String(format: "%g%%", Double($0) / 10_000) } ?? "—",
        ]
    }

    static func columns(_ cells: [String]) -> String {
        TextTable.row(cells, widths: [10, 9, 11, 10, 7, 6, 12, 8])
    }
}
