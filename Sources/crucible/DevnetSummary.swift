import CrucibleAPI
import CrucibleCoordinator
import CrucibleCore

/// What devnet prints once its jobs are settled: the jobs, who ran what and earned what, the fee burned,
/// balances before and after, and the audit of the whole log.
enum DevnetSummary {
    static func render(
        jobs: [Components.Schemas.Job], nodes: [Components.Schemas.Node], names: [String: String],
        before: [(String, Int64)], after: [(String, Int64)], economy: Components.Schemas.Economy, audit: Auditor.Report
    ) -> String {
        func name(_ address: String) -> String { names[address] ?? Address.short(address) }
        var out = [String]()
        out.append("Jobs")
        out.append(indent(TextTable.render(
            header: ["JOB", "ID", "STATE", "VERIFIED", "DISPUTED", "FAILED", "PAID CRU", "FEE BURNED", "REFUNDED"],
            rows: jobs.map { job in
                [
                    job.name, job.id, job.state,
                    "\(job.tasks.filter { $0.state == "verified" }.count)/\(job.taskCount)",
                    "\(job.tasks.filter { $0.state == "disputed" }.count)",
                    "\(job.tasks.filter { $0.state == "failed" }.count)",
                    Amount.format(job.paidMicro), Amount.format(job.burnedMicro), Amount.format(job.refundedMicro),
                ]
            }
        )))

        // Who ran what in this round, from the runs of these jobs.
        var primaries = [String: Int]()
        var replicas = [String: Int]()
        var earned = [String: Int64]()
        for job in jobs {
            for task in job.tasks {
                for run in task.runs where run.state == "completed" {
                    guard let node = run.nodeId else { continue }
                    if run.role == "replica" { replicas[node, default: 0] += 1 } else { primaries[node, default: 0] += 1 }
                    earned[node, default: 0] += run.paidMicro
                }
            }
        }
        out.append("\nWho ran what")
        out.append(indent(TextTable.render(
            header: ["NODE", "OPERATOR", "PROOF", "ASK CRU/CORE-H", "PRIMARY RUNS", "REPLICA RUNS", "EARNED NOW", "EARNED ALL TIME"],
            rows: nodes.sorted { name($0.id) < name($1.id) }.map { node in
                [
                    name(node.id), name(node.operatorAddress), ProofFormat.describe(node.proof), Amount.format(node.askMicroPerCpuCoreHour),
                    "\(primaries[node.id] ?? 0)", "\(replicas[node.id] ?? 0)", Amount.format(earned[node.id] ?? 0), Amount.format(node.earnedMicro),
                ]
            }
        )))

        out.append("\nBalances (CRU)")
        let beforeByName = Dictionary(uniqueKeysWithValues: before)
        out.append(indent(TextTable.render(
            header: ["ACCOUNT", "BEFORE", "AFTER", "CHANGE"],
            rows: after.map { name, balance in
                let previous = beforeByName[name] ?? 0
                return [name, Amount.format(previous), Amount.format(balance), (balance >= previous ? "+" : "") + Amount.format(balance - previous)]
            }
        )))
        let burnedNow = jobs.reduce(0) { $0 + $1.burnedMicro }
        out.append("\nFee burned by these jobs: \(Amount.format(burnedNow)) CRU (all time: \(Amount.format(audit.burnedMicro)) CRU)")
        out.append(
            "Economy: supply \(Amount.format(economy.supplyMicro)) CRU · staked \(Amount.format(economy.stakedMicro)) · treasury \(Amount.format(economy.treasuryMicro))"
                + " · minted \(Amount.format(economy.mintedMicro)) in \(economy.epochs.count) closed epoch(s) · `crucible economy` shows each"
        )
        out.append(AuditCommand.describe(audit))
        return out.joined(separator: "\n")
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
