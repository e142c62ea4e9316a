import CrucibleCore
import CrucibleProof

extension NetworkState {
    /// The chance that task `taskIndex` of `job` is re-run: the job's sample rate, or under adaptive replication the
    /// rate its primary's node has earned.
    public func samplePpm(of job: JobRecord, taskIndex: Int) -> Int {
        guard job.spec.verification.policy == .adaptive else { return job.spec.verification.samplePpm }
        guard job.tasks.indices.contains(taskIndex),
              let node = completedRun(of: job.tasks[taskIndex], role: .primary)?.nodeId.flatMap({ nodes[$0] })
        else { return 1_000_000 }
        return parameters.adaptive.samplePpm(streak: node.verifiedStreak)
    }
}
