import CrucibleCore
import CrucibleProof

/// Requester review of render frames (Render Network's artist review): a job that asks for it has each frame wait for
/// the requester's approval — or for its review period to lapse — before its runs are paid, and the frame itself is
/// withheld meanwhile (a watermarked preview is served instead). A rejection is a dispute, not a refusal to pay: the
/// frame is rendered again on another operator's node and the two are compared; alike, the rejected run is paid after
/// all; not alike, it lost.
extension NetworkState {
    /// The run whose frame awaits review in `task`: its latest completed primary, not yet approved or rejected.
    public func frameUnderReview(_ job: JobRecord, _ task: TaskRecord) -> RunRecord? {
        guard job.spec.render?.reviewS != nil, !task.state.isFinal, task.approvedMs == nil,
              let primary = completedRun(of: task, role: .primary), !task.rejections.contains(where: { $0.runId == primary.id })
        else { return nil }
        return primary
    }

    /// When the frame under review is approved without an answer: its review period after it was delivered.
    public func reviewDueMs(_ job: JobRecord, _ task: TaskRecord) -> Int64? {
        guard let reviewS = job.spec.render?.reviewS, let frame = frameUnderReview(job, task), let delivered = frame.endedMs else { return nil }
        return delivered + Int64(reviewS) * 1000
    }

    mutating func reviewFrames(_ signer: String, _ review: FrameReview, atMs nowMs: Int64, changes: inout Changes) throws {
        let job = try job(review.jobId)
        guard signer == job.requester else { throw CrucibleError(.forbidden, "only the job's requester reviews its frames") }
        guard job.spec.render?.reviewS != nil else { throw CrucibleError(.conflict, "job \(job.id) was submitted without review") }
        let indexes = review.approve + review.reject.map(\.taskIndex)
        guard !indexes.isEmpty else { throw CrucibleError(.malformed, "approve or reject at least one frame") }
        guard Set(indexes).count == indexes.count else { throw CrucibleError(.malformed, "a frame appears twice in one review") }
        for index in indexes {
            guard job.tasks.indices.contains(index), frameUnderReview(job, job.tasks[index]) != nil else {
                throw CrucibleError(.conflict, "the frame of task \(index) is not awaiting review")
            }
        }
        for rejection in review.reject {
            guard !rejection.reason.isEmpty, rejection.reason.utf8.count <= FrameReview.reasonBytesMax else {
                throw CrucibleError(.malformed, "a rejection needs a reason of 1 to \(FrameReview.reasonBytesMax) bytes")
            }
            guard job.tasks[rejection.taskIndex].rejections.isEmpty else {
                throw CrucibleError(.conflict, "the frame of task \(rejection.taskIndex) was rejected once already; its re-render settles the dispute")
            }
        }
        for index in review.approve { approveFrame(jobId: job.id, taskIndex: index, auto: false, atMs: nowMs, changes: &changes) }
        for rejection in review.reject { rejectFrame(jobId: job.id, rejection, atMs: nowMs, changes: &changes) }
    }

    mutating func approveFrame(jobId: String, taskIndex: Int, auto: Bool, atMs nowMs: Int64, changes: inout Changes) {
        guard let job = jobs[jobId], let frame = frameUnderReview(job, job.tasks[taskIndex]) else { return }
        jobs[jobId]!.tasks[taskIndex].approvedMs = nowMs
        jobs[jobId]!.tasks[taskIndex].autoApproved = auto
        // Approved, the frame is the requester's.
        for output in frame.outputs where withheldFrames[output.sha256] == frame.id { withheldFrames[output.sha256] = nil }
        changes.jobs.insert(jobId)
    }

    mutating func rejectFrame(jobId: String, _ rejection: FrameReview.Rejection, atMs nowMs: Int64, changes: inout Changes) {
        guard let job = jobs[jobId], let frame = frameUnderReview(job, job.tasks[rejection.taskIndex]) else { return }
        jobs[jobId]!.tasks[rejection.taskIndex].rejections.append(FrameRejection(runId: frame.id, reason: rejection.reason, atMs: nowMs))
        // Checks still running on the rejected frame are moot: the re-render decides now.
        for run in job.tasks[rejection.taskIndex].runIds.compactMap({ runs[$0] }) where run.role != .primary && run.state.isOpen {
            setRunState(run.id, .cancelled, reason: "cancelled: the requester rejected the frame it checked", atMs: nowMs, changes: &changes)
        }
        redoFrame(of: frame, atMs: nowMs, changes: &changes)
    }
}
