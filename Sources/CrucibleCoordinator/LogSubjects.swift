import CrucibleCore
import CrucibleStore

/// What one log entry concerns, so that a page can link each figure to the entries behind it: the nodes, jobs,
/// runs, challenges, proposals and epochs the entry changed, each run's job and node, each challenge's node, and the
/// signer of a signed input, and its kind (`kind.verdict`, `kind.stake`, …) for figures that count entries of a kind.
/// The coordinator writes these with the entry; the audit derives them again and compares.
enum LogSubjects {
    static func rows(for event: LogEvent, changes: NetworkState.Changes, state: NetworkState, seq: Int64) -> [SubjectRow] {
        var subjects = changes.nodes.union(changes.jobs).union(changes.runs).union(changes.proposals).union(changes.challenges)
        for runId in changes.runs {
            guard let run = state.runs[runId] else { continue }
            subjects.insert(run.jobId)
            if let nodeId = run.nodeId { subjects.insert(nodeId) }
        }
        for challengeId in changes.challenges {
            if let nodeId = state.challenges[challengeId]?.nodeId { subjects.insert(nodeId) }
        }
        for epoch in changes.epochs { subjects.insert(epochSubject(epoch)) }
        if case .envelope(let envelope) = event { subjects.insert(envelope.signer) }
        subjects.insert(kindSubject(event))
        return subjects.sorted().map { SubjectRow(subject: $0, seq: seq) }
    }

    /// Subjects sorted by what they are, for log metadata: runs (`job-….0.p1`), jobs, challenges, proposals,
    /// epochs, nodes and other signers (addresses); kinds are left out.
    static func byRole(_ subjects: [String], nodes isNode: (String) -> Bool) -> [(String, [String])] {
        var roles = [String: [String]]()
        for subject in subjects where !subject.hasPrefix("kind.") {
            let role = if subject.hasPrefix("job-") { subject.contains(".") ? "run" : "job" }
                else if subject.hasPrefix("challenge-") { "challenge" }
                else if subject.hasPrefix("proposal-") { "proposal" }
                else if subject.hasPrefix("epoch-") { "epoch" }
                else if isNode(subject) { "node" }
                else { "signer" }
            roles[role, default: []].append(subject)
        }
        return roles.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// What `GET /v1/log?subject=` accepts (its pattern in openapi.yaml, which the generated server does not check).
    static func isValid(_ subject: String) -> Bool {
        (1...160).contains(subject.utf8.count) && subject.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    static func epochSubject(_ epoch: Int) -> String { "epoch-\(epoch)" }

    /// Signed inputs by their envelope kind, decisions by their type.
    static func kindSubject(_ event: LogEvent) -> String { "kind." + event.kindName }
}
