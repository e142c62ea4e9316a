import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Show the network: nodes, jobs and token totals."
    )

    @Flag(help: "Print JSON for scripts: {\"network\": the API's summary, \"nodes\": its node list}.") var json = false
    @OptionGroup var client: ClientOptions

    struct Snapshot: Encodable {
        var network: Components.Schemas.NetworkSummary
        var nodes: [Components.Schemas.Node]
    }

    func run() async throws {
        let coordinator = try client.client()
        let summary = try await coordinator.network()
        let nodes = try await coordinator.nodes()
        if json { return try printJSON(Snapshot(network: summary, nodes: nodes)) }
        print("coordinator \(summary.coordinator), log head \(summary.logHead)")
        print("nodes: \(summary.nodesRegistered) registered, \(summary.nodesOnline) online, \(summary.nodesProven) proven; \(summary.gpusRegistered) GPUs, \(summary.gpusProven) proven")
        print("proof of GPU: \(ProofFormat.tops(summary.provenTops)) INT8 TOPS proven; challenges \(summary.challengesPassed) passed, \(summary.challengesFailed) failed")
        print("jobs: \(summary.jobsTotal) total, \(summary.jobsOpen) open, \(summary.jobsSettled) settled, \(summary.jobsCancelled) cancelled")
        print("token: supply \(Amount.format(summary.supplyMicro)) CRU, escrow \(Amount.format(summary.escrowMicro)), burned \(Amount.format(summary.burnedMicro)), fee \(Double(summary.feeBps) / 100)%")
        let rows = nodes.map { node in
            [
                Address.short(node.id), node.online ? "online" : "offline", node.hardware, ProofFormat.describe(node.proof), Address.short(node.operatorAddress),
                Amount.format(node.askMicroPerCpuCoreHour), "\(node.runsActive)", "\(node.runsDone)", Amount.format(node.earnedMicro),
                Self.cluster(node),
            ]
        }
        print(TextTable.render(header: ["NODE", "STATUS", "HARDWARE", "PROOF", "OPERATOR", "ASK CRU/CORE-H", "ACTIVE", "DONE", "EARNED CRU", "CLUSTER"], rows: rows))
    }

    /// Whether the node may join gangs, and its nearest measured peer.
    static func cluster(_ node: Components.Schemas.Node) -> String {
        guard node.peerEndpoint != nil else { return "no" }
        guard let nearest = node.links?.min(by: { $0.roundTripUs < $1.roundTripUs }) else { return "measuring" }
        let state = node.clusterReady == true ? "ready" : "not ready"
        return "\(state), \(node.links?.count ?? 0) links, nearest \(String(format: "%.2f", Double(nearest.roundTripUs) / 1000)) ms"
    }
}
