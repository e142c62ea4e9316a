import CrucibleCore

/// What checks a train task: its members' checkpoints, and a segment re-run by a validator from the reference run's
/// saved state.
extension NetworkState {
    /// Where a train run's helper saves the state at `step`, among its outputs.
    public static func trainStatePath(step: Int) -> String { "checkpoints/step-\(step).pt" }

    /// The run whose checkpoints and saved states a train task is checked against: rank 0 of its completed gang, or
    /// its primary.
    func trainReference(of task: TaskRecord) -> RunRecord? {
        completedGang(of: task)?.first ?? completedRun(of: task, role: .primary)
    }

    /// Segments a validator could re-run: from checkpoint i (whose state the reference saved) to checkpoint i + 1.
    public func trainSegments(jobId: String, taskIndex: Int) -> [Int] {
        guard let job = jobs[jobId], job.spec.kind == .train, job.tasks.indices.contains(taskIndex),
              let reference = trainReference(of: job.tasks[taskIndex])
        else { return [] }
        let saved = Set(reference.outputs.map(\.path))
        return reference.checkpoints.indices.dropLast().filter { saved.contains(Self.trainStatePath(step: reference.checkpoints[$0].step)) }
    }

    /// How far the validator's weights at the segment's end are from the reference's: nil when either has no
    /// fingerprint there.
    public func segmentDeviation(of task: TaskRecord, replica: RunRecord) -> Double? {
        guard let toStep = task.segmentToStep, let reference = trainReference(of: task) else { return nil }
        return TrainingCheckpoint.deviation(
            replica.checkpoints.first { $0.step == toStep }?.fingerprint,
            from: reference.checkpoints.first { $0.step == toStep }?.fingerprint
        )
    }

    /// Whether a validator's (or arbiter's) re-run of the segment ended at the reference's weights, within tolerance.
    func segmentMatches(_ task: TaskRecord, _ run: RunRecord) -> Bool {
        segmentDeviation(of: task, replica: run).map { $0 * 1_000_000 <= Double(parameters.trainDeviationPpmMax) } ?? false
    }

    /// Whether two re-runs of the segment (an arbiter's and a validator's) ended at the same weights, within tolerance.
    func segmentRunsAgree(_ task: TaskRecord, _ one: RunRecord, _ other: RunRecord) -> Bool {
        guard let toStep = task.segmentToStep,
              let deviation = TrainingCheckpoint.deviation(
                one.checkpoints.first { $0.step == toStep }?.fingerprint, from: other.checkpoints.first { $0.step == toStep }?.fingerprint
              )
        else { return false }
        return deviation * 1_000_000 <= Double(parameters.trainDeviationPpmMax)
    }

    /// What a validator needs to re-run `run`'s segment: the steps, the gang's processes to stand in for, and the
    /// saved state to resume from.
    public func trainSegment(of run: RunRecord) -> (fromStep: Int, toStep: Int, processes: Int, state: OutputFile)? {
        guard run.role != .primary, let job = jobs[run.jobId], job.spec.kind == .train, job.tasks.indices.contains(run.taskIndex) else { return nil }
        let task = job.tasks[run.taskIndex]
        guard let from = task.segmentFromStep, let to = task.segmentToStep, let reference = trainReference(of: task),
              let state = reference.outputs.first(where: { $0.path == Self.trainStatePath(step: from) })
        else { return nil }
        let processesPerMember = max(job.spec.gpuShape.gpus, 1)
        return (from, to, job.spec.membersPerTask * processesPerMember, state)
    }
}
