import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Replay the log from genesis: check every hash, signature and checkpoint, recompute every balance and compare.",
        discussion: """
        With --data or --database, the coordinator's database is audited: every stored table is compared with the replay.
        With --coordinator, only the public log is used: every balance the coordinator reports is compared with the replay.
        """
    )

    @Option(help: "Data folder of a coordinator.")
    var data: String?

    @Option(help: ArgumentHelp("A coordinator's database: a postgres:// URL or a SQLite file.", valueName: "url-or-path"))
    var database: String?

    @Option(help: "URL of a running coordinator, to audit from its public log.")
    var coordinator: String?

    @Flag(help: "Print JSON for scripts: {\"ok\": true, \"report\": {…}} or {\"ok\": false, \"error\": \"…\"} (exit status 2 all the same).")
    var json = false

    /// What `--json` prints.
    struct Outcome: Encodable {
        var ok: Bool
        var report: Auditor.Report?
        var error: String?
    }

    func validate() throws {
        guard [data, database, coordinator].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give one of --data, --database or --coordinator")
        }
    }

    func run() async throws {
        let result: Result<Auditor.Report, any Error>
        if let coordinator {
            let client = try CoordinatorClient(url: coordinator)
            result = await Result { try await Auditor.audit(source: Self.publicSource(client)) }
        } else {
            let address: String
            if let database {
                address = database
            } else {
                let directory = DataDirectory(data ?? "")
                guard directory.databaseExists else { throw ValidationError("no database at \(directory.database)") }
                address = directory.database
            }
            let store = try await CrucibleStore.open(address)
            result = await Result { try await Auditor.audit(store: store) }
            try await store.close()
        }
        if json {
            switch result {
            case .success(let report): try printJSON(Outcome(ok: true, report: report))
            case .failure(let error): try printJSON(Outcome(ok: false, error: (error as? CrucibleError)?.message ?? "\(error)"))
            }
            if case .failure = result { throw ExitCode(2) }
            return
        }
        switch result {
        case .success(let report):
            print(Self.describe(report, comparedWith: coordinator == nil ? "the stored tables" : "the balances the coordinator reports"))
        case .failure(let error):
            print("AUDIT FAILED: \((error as? CrucibleError)?.message ?? "\(error)")")
            throw ExitCode(2)
        }
    }

    /// The public log and account balances, fetched over the API.
    static func publicSource(_ client: CoordinatorClient) -> Auditor.PublicSource {
        Auditor.PublicSource(
            page: { after in
                let page = try await client.log(after: after)
                return (
                    page.coordinator,
                    page.entries.map { LogEntry(seq: $0.seq, prevHash: $0.prevHash, hash: $0.hash, timestampMs: $0.timestampMs, content: $0.content, signature: $0.signature) },
                    page.checkpoints.map { LogCheckpoint(lastSeq: $0.lastSeq, firstSeq: $0.firstSeq, root: $0.root, signature: $0.signature) }
                )
            },
            head: { try await client.health().logHead },
            account: { address in
                Auditor.AccountFigures(try await client.account(address))
            },
            blob: { sha256 in
                do {
                    return try await client.blob(sha256)
                } catch let error as CrucibleError where error.code == .notFound {
                    return nil
                }
            }
        )
    }

    static func describe(_ report: Auditor.Report, comparedWith reference: String = "the stored tables") -> String {
        """
        audit OK: \(report.entries) log entries (\(report.envelopes) signed inputs, \(report.decisions) decisions), \
        \(report.checkpoints) checkpoints, all hashes and signatures valid
        ledger OK: genesis \(Amount.format(report.genesisMicro)) + minted \(Amount.format(report.mintedMicro)) \
        − burned \(Amount.format(report.burnedMicro)) = balances \(Amount.format(report.balancesMicro)) + escrow \(Amount.format(report.escrowMicro)) \
        + staked \(Amount.format(report.stakedMicro)) + unbonding \(Amount.format(report.unbondingMicro)) + treasury \(Amount.format(report.treasuryMicro)) CRU
        state OK: \(report.accounts) accounts and \(report.jobs) jobs recomputed from the log match \(reference)
        """ + (report.challengesRechecked > 0
            ? "\nchallenges OK: \(report.challengesRechecked) proof-of-GPU verdicts rechecked from their revealed seeds, logged times and stored openings"
            : "") + (report.cropChecksRecomputed > 0
            ? "\nproof of render OK: \(report.cropChecksRecomputed) tile checks recomputed from the stored frames and tiles"
            : "")
    }
}
