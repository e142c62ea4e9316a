import CrucibleCore
import CrucibleLedger
import CrucibleStore

/// What one log entry did to each address it touched, for wallet histories. The coordinator writes these with the
/// entry; the audit derives them again from the replay and compares.
enum AccountMovements {
    static func rows(for event: LogEvent, changes: NetworkState.Changes, state: NetworkState, seq: Int64, atMs: Int64) -> [MovementRow] {
        let balance = changes.ledger.balanceDeltas
        let stake = changes.ledger.stakeDeltas
        let addresses = Set(balance.keys).union(stake.keys).filter { (balance[$0] ?? 0) != 0 || (stake[$0] ?? 0) != 0 }
        guard !addresses.isEmpty else { return [] }
        let (kind, reference) = describe(event)
        return addresses.sorted().map { address in
            MovementRow(
                seq: seq, address: address, kind: kind, reference: reference == "" && kind == "transfer" ? address : reference,
                balanceDeltaMicro: balance[address] ?? 0, stakeDeltaMicro: stake[address] ?? 0,
                balanceMicro: state.ledger.balance(of: address), atMs: atMs
            )
        }
    }

    /// A kind and a reference people can follow: the job, task, epoch or challenge behind the movement.
    static func describe(_ event: LogEvent) -> (kind: String, reference: String) {
        switch event {
        case .genesis:
            return ("genesis", "")
        case .envelope(let envelope):
            switch envelope.kind {
            case .submitJob: return ("escrow", JobRecord.makeId(signer: envelope.signer, nonce: envelope.nonce))
            case .transfer: return ("transfer", envelope.signer)
            case .stake: return ("stake", (try? envelope.decodePayload(as: StakeRequest.self).action.rawValue) ?? "")
            default: return (envelope.kind.rawValue, "")
            }
        case .verdict(let verdict):
            return ("payment", "\(verdict.jobId)/\(verdict.taskIndex)")
        case .jobClosed(let jobId, _):
            return ("refund", jobId)
        case .epochClosed(let close):
            return ("emission", "epoch \(close.epoch)")
        case .challengeJudged(let verdict):
            return ("slash", verdict.challengeId)
        default:
            return (event.typeName, "")
        }
    }
}
