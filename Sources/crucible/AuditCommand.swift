import ArgumentParser
import CrucibleCoordinator
import CrucibleCore
import CrucibleStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Replay the log from genesis: check every hash, signature and checkpoint, recompute every balance and compare with the stored state."
    )

    @Option(help: "Data folder of the coordinator.")
    var data: String = ".crucible/devnet"

    func run() async throws {
        let directory = DataDirectory(data)
        guard directory.databaseExists else { throw ValidationError("no database at \(directory.database)") }
        let store = try await CrucibleStore.openSQLite(path: directory.database)
        let result = await Result<Auditor.Report, any Error>(catching: { try await Auditor.audit(store: store) })
        try await store.close()
        switch result {
        case .success(let report):
            print(AuditCommand.describe(report))
        case .failure(let error):
            print("AUDIT FAILED: \((error as? CrucibleError)?.message ?? "\(error)")")
            throw ExitCode(2)
        }
    }

    static func describe(_ report: Auditor.Report) -> String {
        """
        audit OK: \(report.entries) log entries (\(report.envelopes) signed inputs, \(report.decisions) decisions), \
        \(report.checkpoints) checkpoints, all hashes and signatures valid
        ledger OK: genesis \(Amount.format(report.genesisMicro)) + minted \(Amount.format(report.mintedMicro)) \
        − burned \(Amount.format(report.burnedMicro)) = balances \(Amount.format(report.balancesMicro)) + escrow \(Amount.format(report.escrowMicro)) CRU
        state OK: \(report.accounts) accounts and \(report.jobs) jobs recomputed from the log match the stored tables
        """
    }
}
