import CrucibleCore
import CrucibleProof

/// What checks a render task: a validator's re-render of random tiles of its frame, compared pixel by pixel with the
/// frame the primary submitted (and an arbiter's tiles with both, when those two disagree).
extension NetworkState {
    /// The comparisons a checking run's report calls for, each with whether its reference is a whole frame or another
    /// run's tiles: a replica's tiles against the primary's frame; an arbiter's against the primary's frame and the
    /// replica's tiles. Empty for anything else.
    public func cropChecksDue(for run: RunRecord) -> [(against: RunRecord, referenceIsCrop: Bool)] {
        guard let job = jobs[run.jobId], job.spec.kind == .render, job.tasks.indices.contains(run.taskIndex),
              !job.tasks[run.taskIndex].crops.isEmpty, run.role != .primary
        else { return [] }
        let task = job.tasks[run.taskIndex]
        guard let primary = completedRun(of: task, role: .primary) else { return [] }
        guard run.role == .arbiter else { return [(primary, false)] }
        return [(primary, false)] + (completedRun(of: task, role: .replica).map { [($0, true)] } ?? [])
    }

    /// Whether two completed runs of a render task agree, by the check their checking run's tiles got; nil while that
    /// comparison is not in.
    func cropsAgree(_ task: TaskRecord, checker: RunRecord, against: RunRecord) -> Bool? {
        task.cropChecks.first { $0.runId == checker.id && $0.againstRunId == against.id }
            .map { $0.comparison.matches(minMilliDb: parameters.renderPsnrMilliDbMin) }
    }

    /// Whether two completed runs of a task agree: for a render task by the tile check between them (`checker` is the
    /// later run, whose tiles were compared), otherwise by their output digests. Nil while a comparison is pending.
    func runsAgree(_ job: JobRecord, _ task: TaskRecord, _ earlier: RunRecord, _ checker: RunRecord) -> Bool? {
        guard job.spec.kind == .render else {
            return Replication.compare(primaryDigest: earlier.digest ?? "", replicaDigest: checker.digest ?? "") == .match
        }
        return cropsAgree(task, checker: checker, against: earlier)
    }

    /// Records the coordinator's comparisons after checking, before anything changes, that each names a checking run
    /// whose report called for it, once.
    mutating func recordCropChecks(_ checks: [CropCheck], changes: inout Changes) throws {
        guard !checks.isEmpty else { throw CrucibleError(.malformed, "crops_compared carries no comparison") }
        var seen = Set<String>()
        for check in checks {
            let job = try job(check.jobId)
            guard job.tasks.indices.contains(check.taskIndex), let run = runs[check.runId], run.state == .completed,
                  run.jobId == check.jobId, run.taskIndex == check.taskIndex,
                  cropChecksDue(for: run).contains(where: { $0.against.id == check.againstRunId })
            else { throw CrucibleError(.conflict, "no tiles of \(check.runId) are due for comparison with \(check.againstRunId)") }
            guard check.crops == job.tasks[check.taskIndex].crops else {
                throw CrucibleError(.conflict, "the tiles compared for \(check.runId) are not the ones its task drew")
            }
            let alreadyIn = job.tasks[check.taskIndex].cropChecks.contains { $0.runId == check.runId && $0.againstRunId == check.againstRunId }
            guard !alreadyIn, seen.insert(check.runId + "/" + check.againstRunId).inserted else {
                throw CrucibleError(.conflict, "\(check.runId) was already compared with \(check.againstRunId)")
            }
        }
        for check in checks {
            jobs[check.jobId]!.tasks[check.taskIndex].cropChecks.append(check)
            changes.jobs.insert(check.jobId)
        }
    }
}
