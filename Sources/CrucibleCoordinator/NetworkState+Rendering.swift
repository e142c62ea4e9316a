import CrucibleCore
import CrucibleProof

/// What checks a render task: a validator's re-render of random tiles of its frame, compared pixel by pixel with the
/// frame the primary submitted (and an arbiter's tiles with both, when those two disagree).
extension NetworkState {
    /// A comparison a render run's report calls for.
    public struct CropCheckDue {
        /// The run whose pixels are compared with the reporting run's.
        public var against: RunRecord
        /// `against` submitted tiles (a validator), not a frame.
        public var referenceIsTiles: Bool
        /// The reporting run submitted a whole frame (a re-render after a rejection), not tiles.
        public var candidateIsFrame: Bool
        public var crops: [FrameCrop]
    }

    /// The comparisons a render run's report calls for: a replica's tiles against the primary's frame; an arbiter's
    /// against the primary's frame and the replica's tiles; a re-rendered frame against the frame the requester
    /// rejected, whole. Empty for anything else.
    public func cropChecksDue(for run: RunRecord) -> [CropCheckDue] {
        guard let job = jobs[run.jobId], let render = job.spec.render, job.tasks.indices.contains(run.taskIndex) else { return [] }
        let task = job.tasks[run.taskIndex]
        if run.role == .primary {
            guard let rejected = task.rejections.last.flatMap({ runs[$0.runId] }), rejected.id != run.id else { return [] }
            return [CropCheckDue(against: rejected, referenceIsTiles: false, candidateIsFrame: true, crops: [FrameCrop(x: 0, y: 0, width: render.width, height: render.height)])]
        }
        guard !task.crops.isEmpty, let primary = completedRun(of: task, role: .primary) else { return [] }
        let frame = CropCheckDue(against: primary, referenceIsTiles: false, candidateIsFrame: false, crops: task.crops)
        guard run.role == .arbiter else { return [frame] }
        return [frame] + (completedRun(of: task, role: .replica).map { [CropCheckDue(against: $0, referenceIsTiles: true, candidateIsFrame: false, crops: task.crops)] } ?? [])
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
                  let due = cropChecksDue(for: run).first(where: { $0.against.id == check.againstRunId })
            else { throw CrucibleError(.conflict, "no tiles of \(check.runId) are due for comparison with \(check.againstRunId)") }
            guard check.crops == due.crops else {
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
