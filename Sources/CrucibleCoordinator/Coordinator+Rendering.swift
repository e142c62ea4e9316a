import CrucibleCore
import CrucibleProof
import CrucibleStore
import Foundation

extension Coordinator {
    /// The crop comparisons a render validator's (or arbiter's) successful report calls for, computed from the
    /// uploaded files before the report is logged, so that report and comparisons are logged together.
    func cropChecks(for report: RunReport, by nodeId: String) async throws -> [CropCheck] {
        guard report.exitCode == 0, report.failure == nil, let run = state.runs[report.runId], run.nodeId == nodeId,
              let job = state.jobs[run.jobId], let render = job.spec.render, let crop = job.tasks[run.taskIndex].crop
        else { return [] }
        let due = state.cropChecksDue(for: run)
        guard !due.isEmpty else { return [] }
        let candidate = try await blob(of: report.outputs, at: render.cropPath(taskIndex: run.taskIndex))
        var checks = [CropCheck]()
        for (against, referenceIsCrop) in due {
            let path = referenceIsCrop ? render.cropPath(taskIndex: run.taskIndex) : render.framePath(taskIndex: run.taskIndex)
            let reference = try await blob(of: against.outputs, at: path)
            // Decoding a large frame takes a while: off the coordinator's executor, which keeps serving meanwhile.
            let comparison = await Task.detached {
                ProofOfRender.compare(
                    reference: reference, candidate: candidate, crop: crop, frameWidth: render.width, frameHeight: render.height,
                    referenceIsCrop: referenceIsCrop
                )
            }.value
            checks.append(CropCheck(jobId: job.id, taskIndex: run.taskIndex, runId: run.id, againstRunId: against.id, comparison: comparison))
        }
        return checks
    }

    private func blob(of outputs: [OutputFile], at path: String) async throws -> Data? {
        guard let file = outputs.first(where: { $0.path == path }) else { return nil }
        return try await store.blob(sha256: file.sha256)
    }
}
